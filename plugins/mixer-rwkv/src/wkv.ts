/**
 * The RWKV-4 WKV operator (Peng et al., arXiv 2305.13048, §3.1.2 Eq. 14, and the reference
 * CUDA kernel_forward), in a numerically stable form for training (parallel) and decoding (step).
 *
 * Notation (per channel c; B batch, L length, C channels):
 *   w = −exp(time_decay)   per-channel log decay (< 0)                           [C]
 *   u = time_first          bonus added to the current token's key                 [C]
 *   k_t, v_t                key and value of token t                               [B, L, C]
 *   wkv_t = (Σ_{i<t} e^{(t−1−i)w + k_i} v_i + e^{u + k_t} v_t)
 *         / (Σ_{i<t} e^{(t−1−i)w + k_i}     + e^{u + k_t})                        (Eq. 14)
 *   S_t = Σ_{i≤t} e^{(t−i)w + k_i} (v_i, 1)  the running state, kept as (a, b)·e^{p}
 *         (a, b, p = kernel_forward's aa, bb, pp: p tracks the largest exponent so no
 *         exp ever sees a positive argument; with k = +60 the naive form overflows fp32).
 *   wkv_t = (e^{p_{t−1}−q} a_{t−1} + e^{u+k_t−q} v_t) / (e^{p_{t−1}−q} b_{t−1} + e^{u+k_t−q}),
 *         q = max(p_{t−1}, u + k_t).
 *
 * Training computes every S_t with a log-depth Hillis–Steele prefix scan over spans
 * (decay A, a, b, p): appending a later span (A2, a2, b2, p2) to an earlier one gives
 *   p = max(p1 + A2, p2),  a = e^{p1+A2−p} a1 + e^{p2−p} a2,  b likewise,  A = A1 + A2
 * (A = log of the span's total decay: n·w, or "log 0" when the span starts a new segment).
 * ceil(log2 L) elementwise rounds on [B, L, C]; no L×L tensor. Gradients are those of the
 * tfjs ops used (checked against finite differences in the tests).
 */
import { tf, type Tensor } from '@weft/core';

/** A finite stand-in for log 0 (finite so that gradients never see inf − inf). */
export const LOG_ZERO = -1e30;

/** Running state (a, b, p) of the WKV recurrence for one row: S = (a, b)·e^{p}. Each [B, C]. */
export type WkvState = { a: Tensor; b: Tensor; p: Tensor };

/** x shifted d steps later along axis 1 of [B, L, C]; the first d steps are `fill`. */
function shiftRight(x: Tensor, d: number, fill: number): Tensor {
  const [B, L, C] = x.shape as [number, number, number];
  if (d >= L) return tf.fill([B, L, C], fill);
  return tf.concat([tf.fill([B, d, C], fill), tf.slice(x, [0, 0, 0], [B, L - d, C])], 1); // [B, L, C]
}

export interface WkvOptions {
  /** [B, L], 1 where a new segment starts: no earlier token reaches it (packed sequences). */
  resets?: Tensor;
}

/**
 * Parallel WKV (Eq. 14): w, u [C]; k, v [B, L, C] -> wkv [B, L, C].
 * `w` is the log decay −exp(time_decay), not time_decay itself.
 */
export function wkv(w: Tensor, u: Tensor, k: Tensor, v: Tensor, options: WkvOptions = {}): Tensor {
  if (k.rank !== 3 || v.shape.join(',') !== k.shape.join(',')) {
    throw new RangeError(`wkv: k [${k.shape}] and v [${v.shape}] must both be [B, L, C]`);
  }
  const [B, L, C] = k.shape as [number, number, number];
  if (w.size !== C || u.size !== C) throw new RangeError(`wkv: w [${w.shape}] and u [${u.shape}] must have ${C} entries (one per channel)`);
  return tf.tidy(() => {
    const cut = options.resets ? tf.broadcastTo(tf.greater(tf.reshape(options.resets, [B, L, 1]), 0), [B, L, C]) : undefined; // [B, L, C]
    const logZero = tf.fill([B, L, C], LOG_ZERO);
    // One-token spans: decay w (log 0 at a segment start), state e^{k_t}(v_t, 1).
    let A = tf.broadcastTo(tf.reshape(w, [1, 1, C]), [B, L, C]); // [B, L, C]
    if (cut) A = tf.where(cut, logZero, A);
    let a = v;
    let b = tf.onesLike(k);
    let p = k;
    for (let d = 1; d < L; d *= 2) {
      const pPrev = tf.add(shiftRight(p, d, LOG_ZERO), A); // earlier span decayed over this one
      const pNew = tf.maximum(pPrev, p);
      const e1 = tf.exp(tf.sub(pPrev, pNew));
      const e2 = tf.exp(tf.sub(p, pNew));
      a = tf.add(tf.mul(e1, shiftRight(a, d, 0)), tf.mul(e2, a));
      b = tf.add(tf.mul(e1, shiftRight(b, d, 0)), tf.mul(e2, b));
      p = pNew;
      A = tf.maximum(tf.add(shiftRight(A, d, 0), A), logZero); // A1 + A2, kept finite
    }
    // S_{t−1}: the state before token t (empty at t = 0 and at segment starts).
    let pBefore = shiftRight(p, 1, LOG_ZERO);
    if (cut) pBefore = tf.where(cut, logZero, pBefore);
    const aBefore = shiftRight(a, 1, 0);
    const bBefore = shiftRight(b, 1, 0);
    const uk = tf.add(k, tf.broadcastTo(tf.reshape(u, [1, 1, C]), [B, L, C])); // u + k_t
    const q = tf.maximum(pBefore, uk);
    const e1 = tf.exp(tf.sub(pBefore, q));
    const e2 = tf.exp(tf.sub(uk, q));
    return tf.div(tf.add(tf.mul(e1, aBefore), tf.mul(e2, v)), tf.add(tf.mul(e1, bBefore), e2)); // [B, L, C]
  });
}

/** The empty state (no tokens seen) for a batch of B rows and C channels. */
export function wkvInitState(B: number, C: number): WkvState {
  return { a: tf.zeros([B, C]), b: tf.zeros([B, C]), p: tf.fill([B, C], LOG_ZERO) };
}

/**
 * One decoding step of kernel_forward: w, u [C]; k, v [B, C]; the state before the token.
 * Returns wkv_t [B, C] and the state after it (new tensors; the input state is untouched).
 */
export function wkvStep(w: Tensor, u: Tensor, k: Tensor, v: Tensor, state: WkvState): [Tensor, WkvState] {
  return tf.tidy(() => {
    const [B, C] = k.shape as [number, number];
    const wb = tf.broadcastTo(tf.reshape(w, [1, C]), [B, C]);
    const uk = tf.add(tf.broadcastTo(tf.reshape(u, [1, C]), [B, C]), k); // ww = u + k
    let q = tf.maximum(state.p, uk);
    let e1 = tf.exp(tf.sub(state.p, q));
    let e2 = tf.exp(tf.sub(uk, q));
    const y = tf.div(tf.add(tf.mul(e1, state.a), tf.mul(e2, v)), tf.add(tf.mul(e1, state.b), e2)); // [B, C]
    const decayed = tf.add(state.p, wb); // ww = w + pp
    q = tf.maximum(decayed, k);
    e1 = tf.exp(tf.sub(decayed, q));
    e2 = tf.exp(tf.sub(k, q));
    const next: WkvState = { a: tf.add(tf.mul(e1, state.a), tf.mul(e2, v)), b: tf.add(tf.mul(e1, state.b), e2), p: q };
    return [y, next] as [Tensor, WkvState];
  });
}
