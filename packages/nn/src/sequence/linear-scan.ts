/**
 * The first-order linear recurrence shared by diagonal state-space and linear-RNN mixers
 * (Mamba's selective scan, Longhorn's online update, gated linear RNNs):
 *
 *   h_t = a_t ⊙ h_{t−1} + b_t,   h_{−1} = h0 (zeros when omitted)
 *
 * Notation (B batch, L length along axis 1, S… the per-token state shape, e.g. [E, N]):
 *   a_t   coefficient (decay)                         [B, L, S…]
 *   b_t   input added at step t                       [B, L, S…]
 *   h_t   state after step t                          [B, L, S…]
 *   r_t   segment reset, 1 where a new packed sequence starts (./segment-resets.ts)   [B, L]
 *         a reset sets a_t = 0, so nothing before t reaches h_t.
 *
 * Parallel form (`linearScan`, training): a Hillis–Steele inclusive prefix scan (Hillis &
 * Steele 1986; Blelloch 1990, "Prefix sums and their applications", §1.4: first-order
 * recurrences) over the pairs (a_t, b_t) with the recurrence's associative operator
 *   (a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2)      (pair 1 earlier, pair 2 later)
 * ceil(log2 L) rounds, each combining step t with step t − 2^k, elementwise on [B, L, S…].
 * The initial state is folded into the first step (b_0 ← b_0 + a_0 ⊙ h0). Work O(L log L · |S|),
 * memory O(L · |S|) per round (kept for the backward pass). Stable when |a| ≤ 1 (decays: the
 * products only shrink). Gradients are tfjs's for the plain ops used (w.r.t. a, b and h0).
 *
 * Sequential form (`linearRecurrence`, decoding): the same recurrence one step at a time from a
 * carried state; returns every state and the last one, the state to carry into the next call.
 */
import { tf, type Tensor } from '@weft/core';

export interface LinearScanOptions {
  /** State before the first step [B, S…]; zeros when omitted. */
  h0?: Tensor;
  /** [B, L] float32/int32, 1 where a new segment starts: the state restarts from zero there. */
  resets?: Tensor;
}

export interface LinearScanResult {
  /** Every state h_t  [B, L, S…]. */
  h: Tensor;
  /** The state after the last step  [B, S…]. */
  last: Tensor;
}

function checkShapes(name: string, a: Tensor, b: Tensor, opts: LinearScanOptions): number[] {
  const shape = a.shape;
  const [B, L] = shape as [number, number];
  const rest = shape.slice(2);
  if (a.rank < 2 || b.shape.join(',') !== shape.join(',')) {
    throw new RangeError(`${name}: coefficients a [${a.shape}] and inputs b [${b.shape}] must have the same shape [B, L, …]`);
  }
  if (opts.h0 && opts.h0.shape.join(',') !== [B, ...rest].join(',')) {
    throw new RangeError(`${name}: h0 must be [B, …] = [${[B, ...rest]}] (a's shape without the time axis); got [${opts.h0.shape}]`);
  }
  if (opts.resets && opts.resets.shape.join(',') !== [B, L].join(',')) {
    throw new RangeError(`${name}: resets must be [B, L] = [${[B, L]}]; got [${opts.resets.shape}]`);
  }
  return shape;
}

/** a ⊙ (1 − r) with r [B, L] broadcast over the state axes: a_t = 0 where a segment starts. */
function applyResets(a: Tensor, resets: Tensor): Tensor {
  const [B, L] = a.shape as [number, number];
  const keep = tf.sub(1, tf.cast(resets, 'float32')); // [B, L]
  return tf.mul(a, tf.reshape(keep, [B, L, ...a.shape.slice(2).map(() => 1)])); // [B, L, S…]
}

/** x shifted d steps later along axis 1 of [B, L, S…]; the first d steps are `fill`. */
function shiftRight(x: Tensor, d: number, fill: number): Tensor {
  const [B, L, ...rest] = x.shape;
  return tf.concat([tf.fill([B!, d, ...rest], fill), tf.slice(x, x.shape.map(() => 0), [B!, L! - d, ...rest])], 1); // [B, L, S…]
}

/** The time step t of [B, L, S…] as [B, S…]. */
function stepAt(x: Tensor, t: number): Tensor {
  const [B, , ...rest] = x.shape;
  return tf.reshape(tf.slice(x, x.shape.map((_, i) => (i === 1 ? t : 0)), [B!, 1, ...rest]), [B!, ...rest]);
}

/** Parallel (prefix-scan) form: every state h [B, L, S…] and the last one [B, S…]. */
export function linearScan(a: Tensor, b: Tensor, opts: LinearScanOptions = {}): LinearScanResult {
  const [B, L, ...rest] = checkShapes('linearScan', a, b, opts) as [number, number, ...number[]];
  return tf.tidy(() => {
    let A = opts.resets ? applyResets(a, opts.resets) : a; // product of the coefficients over each span
    let Bv = b; // the state over each span, from a zero state
    if (opts.h0) {
      // Fold the carried state into the first step: b_0 += a_0 ⊙ h0.
      const first = tf.mul(tf.slice(A, A.shape.map(() => 0), [B, 1, ...rest]), tf.reshape(opts.h0, [B, 1, ...rest])); // [B, 1, S…]
      Bv = tf.add(Bv, L > 1 ? tf.concat([first, tf.zeros([B, L - 1, ...rest])], 1) : first);
    }
    for (let d = 1; d < L; d *= 2) {
      const aPrev = shiftRight(A, d, 1);
      const bPrev = shiftRight(Bv, d, 0);
      Bv = tf.add(tf.mul(A, bPrev), Bv); // a2 b1 + b2
      A = tf.mul(aPrev, A); // a1 a2
    }
    if (Bv === b) Bv = tf.clone(b); // L = 1 with nothing to fold: never hand back the caller's tensor
    return { h: Bv, last: stepAt(Bv, L - 1) };
  });
}

/** Sequential form, one step at a time from h0 (decoding): every state [B, L, S…] and the last [B, S…]. */
export function linearRecurrence(a: Tensor, b: Tensor, opts: LinearScanOptions = {}): LinearScanResult {
  const [B, L, ...rest] = checkShapes('linearRecurrence', a, b, opts) as [number, number, ...number[]];
  return tf.tidy(() => {
    const A = opts.resets ? applyResets(a, opts.resets) : a;
    let h = opts.h0 ?? tf.zeros([B, ...rest]); // [B, S…]
    const states: Tensor[] = [];
    for (let t = 0; t < L; t++) {
      h = tf.add(tf.mul(stepAt(A, t), h), stepAt(b, t)); // h_t = a_t ⊙ h_{t−1} + b_t
      states.push(h);
    }
    return { h: tf.stack(states, 1), last: h };
  });
}
