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
 * Parallel form: a Hillis–Steele prefix scan over the pairs (dA, dBu) with the recurrence's
 * associative operator (a1, b1) ∘ (a2, b2) = (a1 a2, a2 b1 + b2): ceil(log2 L) rounds, each
 * elementwise on [B, L, E, N]. Stable because 0 < dA ≤ 1 (A < 0, Δ > 0): products only
 * shrink. Work O(L log L · E · N), memory O(L · E · N) per round (kept for backward);
 * gradients are tfjs's for the plain ops used. The hidden states of every step are
 * materialised ([B, L, E, N]), like the reference (not the fused CUDA kernel).
 */
import { tf, type Tensor } from '@weft/core';

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

/** x shifted d steps later along axis 1 ([B, L, E, N]); the first d steps are `fill`. */
function shiftRight(x: Tensor, d: number, fill: number): Tensor {
  const [B, L, E, N] = x.shape as [number, number, number, number];
  return tf.concat([tf.fill([B, d, E, N], fill), tf.slice(x, [0, 0, 0, 0], [B, L - d, E, N])], 1);
}

/** Returns y [B, L, E] and the last state [B, E, N]. */
export function selectiveScan(inp: SelectiveScanInputs): { y: Tensor; last: Tensor } {
  const [Bsz, L, E] = inp.u.shape as [number, number, number];
  const N = inp.A.shape[1] as number;
  return tf.tidy(() => {
    let delta = inp.delta;
    if (inp.deltaBias) delta = tf.add(delta, inp.deltaBias);
    if (inp.deltaSoftplus) delta = tf.softplus(delta); // [B, L, E]
    const delta4 = tf.reshape(delta, [Bsz, L, E, 1]);
    let a = tf.exp(tf.mul(delta4, inp.A)); // dA [B, L, E, N]
    let b = tf.mul(tf.mul(delta4, tf.reshape(inp.u, [Bsz, L, E, 1])), tf.reshape(inp.B, [Bsz, L, 1, N])); // dBu [B, L, E, N]
    if (inp.h0) {
      // Fold the initial state into the first step: b_0 += dA_0 h0.
      const first = tf.mul(tf.slice(a, [0, 0, 0, 0], [Bsz, 1, E, N]), tf.reshape(inp.h0, [Bsz, 1, E, N]));
      b = tf.add(b, tf.concat([first, tf.zeros([Bsz, L - 1, E, N])], 1));
    }
    for (let d = 1; d < L; d *= 2) {
      const aPrev = shiftRight(a, d, 1);
      const bPrev = shiftRight(b, d, 0);
      b = tf.add(tf.mul(a, bPrev), b); // a2 b1 + b2
      a = tf.mul(aPrev, a); // a1 a2
    }
    const h = b; // [B, L, E, N] every step's state
    let y = tf.sum(tf.mul(h, tf.reshape(inp.C, [Bsz, L, 1, N])), 3); // C_t · h_t  [B, L, E]
    if (inp.D) y = tf.add(y, tf.mul(inp.u, inp.D));
    if (inp.z) y = tf.mul(y, tf.mul(inp.z, tf.sigmoid(inp.z))); // y ⊙ silu(z)
    const last = tf.reshape(tf.slice(h, [0, L - 1, 0, 0], [Bsz, 1, E, N]), [Bsz, E, N]);
    return { y, last };
  });
}
