/**
 * The selective scan of Mamba (Gu & Dao, arXiv 2312.00752, Alg. 2 / Eq. 2a–2b, 4), in the
 * conventions of the reference `selective_scan_ref` (../shared CONVENTIONS.md, Mamba).
 *
 * Notation (B batch, L length, E channels = d_inner, N state size = d_state):
 *   u      input                                   [B, L, E]
 *   Δ      step size, Δ <- softplus(Δ + Δ_bias)     [B, L, E]
 *   A      state matrix (diagonal, negative)         [E, N]
 *   B, C   input-dependent projections               [B, L, N]
 *   D      skip                                      [E]
 *   dA_t = exp(Δ_t A)          (zero-order hold)      [B, L, E, N]
 *   dBu_t = Δ_t B_t u_t        (Euler, NOT ZOH — the "mixed" discretisation of the reference)
 *   h_t = dA_t ⊙ h_{t−1} + dBu_t,   y_t = C_t · h_t + D ⊙ u_t,   then y ⊙ silu(z) if z given.
 *
 * Parallel form (`selectiveScan`, training): the recurrence h_t = dA_t ⊙ h_{t−1} + dBu_t is
 * @weft/nn's `linearScan` (a Hillis–Steele prefix scan, ceil(log2 L) elementwise rounds on
 * [B, L, E, N]); stable because 0 < dA ≤ 1 (A < 0, Δ > 0): products only shrink. Work
 * O(L log L · E · N); gradients are tfjs's for the plain ops used. The hidden states of every
 * step are materialised ([B, L, E, N]), like the reference (not the fused CUDA kernel).
 * Sequential form (`selectiveRecurrent`, decoding): the same recurrence token by token from a
 * carried state (@weft/nn's `linearRecurrence`, Eq. 2a).
 */
import { tf, type Tensor } from '@weft/core';
import { linearRecurrence, linearScan } from '@weft/nn';

export interface SelectiveScanInputs {
  u: Tensor; // [B, L, E]
  delta: Tensor; // [B, L, E]
  A: Tensor; // [E, N]
  B: Tensor; // [B, L, N]
  C: Tensor; // [B, L, N]
  D?: Tensor; // [E]
  z?: Tensor; // [B, L, E]
  deltaBias?: Tensor; // [E]
  deltaSoftplus?: boolean;
  /** State before the first step [B, E, N]; zeros when omitted. */
  h0?: Tensor;
}

/** dA = exp(Δ A) and dBu = Δ B u, each [B, L, E, N] (Eq. 4, the reference's mixed discretisation). */
function discretize(inp: SelectiveScanInputs): { a: Tensor; b: Tensor } {
  const [Bsz, L, E] = inp.u.shape as [number, number, number];
  const N = inp.A.shape[1] as number;
  let delta = inp.delta;
  if (inp.deltaBias) delta = tf.add(delta, inp.deltaBias);
  if (inp.deltaSoftplus) delta = tf.softplus(delta); // [B, L, E]
  const delta4 = tf.reshape(delta, [Bsz, L, E, 1]);
  const a = tf.exp(tf.mul(delta4, inp.A)); // dA [B, L, E, N]
  const b = tf.mul(tf.mul(delta4, tf.reshape(inp.u, [Bsz, L, E, 1])), tf.reshape(inp.B, [Bsz, L, 1, N])); // dBu [B, L, E, N]
  return { a, b };
}

/** y_t = C_t · h_t (+ D ⊙ u_t) (⊙ silu(z_t)) for states h [B, L, E, N]. */
function readout(h: Tensor, inp: SelectiveScanInputs): Tensor {
  const [Bsz, L, , N] = h.shape as [number, number, number, number];
  let y = tf.sum(tf.mul(h, tf.reshape(inp.C, [Bsz, L, 1, N])), 3); // C_t · h_t  [B, L, E]
  if (inp.D) y = tf.add(y, tf.mul(inp.u, inp.D));
  if (inp.z) y = tf.mul(y, tf.mul(inp.z, tf.sigmoid(inp.z))); // y ⊙ silu(z)
  return y;
}

/** Parallel form: y [B, L, E] and the last state [B, E, N]. */
export function selectiveScan(inp: SelectiveScanInputs): { y: Tensor; last: Tensor } {
  return tf.tidy(() => {
    const { a, b } = discretize(inp);
    const { h, last } = linearScan(a, b, { h0: inp.h0 }); // h [B, L, E, N] every step's state
    return { y: readout(h, inp), last };
  });
}

/** Sequential form from h0 (decoding, token by token): y [B, T, E] and the last state [B, E, N]. */
export function selectiveRecurrent(inp: SelectiveScanInputs): { y: Tensor; last: Tensor } {
  return tf.tidy(() => {
    const { a, b } = discretize(inp);
    const { h, last } = linearRecurrence(a, b, { h0: inp.h0 }); // h_t = dA_t h_{t−1} + Δ_t B_t x_t
    return { y: readout(h, inp), last };
  });
}
