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
 * Parallel form (`selectiveScan`, training): @weft/nn's `chunkedSelectiveScan` with the decay
 * kind 'exp' (dA = exp(Δ ⊗ A)) and the input Δ_t u_t ⊗ B_t, run chunk by chunk along L (a
 * Hillis–Steele prefix scan inside each chunk, the state carried between chunks); stable because
 * 0 < dA ≤ 1 (A < 0, Δ > 0): products only shrink. dA, dBu and the states exist only per chunk
 * ([B, chunk, E, N], never [B, L, E, N]); the backward recomputes each chunk's states from the
 * saved chunk-boundary states (a custom gradient), like the fused CUDA kernel recomputes in SRAM.
 * Work O(L log(chunk) · E · N).
 * Sequential form (`selectiveRecurrent`, decoding): the recurrence token by token from a carried
 * state (@weft/nn's `linearRecurrence`, Eq. 2a) on dA and dBu built for the T new tokens.
 */
import { tf, type Tensor } from '@weft/core';
import { chunkedSelectiveScan, linearRecurrence } from '@weft/nn';

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
  /** Steps per chunk of the parallel form (@weft/nn's SELECTIVE_SCAN_CHUNK when omitted); results do not depend on it. */
  chunk?: number;
}

/** Δ after the bias and the softplus  [B, L, E]. */
function stepSize(inp: SelectiveScanInputs): Tensor {
  let delta = inp.delta;
  if (inp.deltaBias) delta = tf.add(delta, inp.deltaBias);
  if (inp.deltaSoftplus) delta = tf.softplus(delta);
  return delta; // [B, L, E]
}

/** dA = exp(Δ A) and dBu = Δ B u, each [B, L, E, N] (Eq. 4, the reference's mixed discretisation). */
function discretize(inp: SelectiveScanInputs): { a: Tensor; b: Tensor } {
  const [Bsz, L, E] = inp.u.shape as [number, number, number];
  const N = inp.A.shape[1] as number;
  const delta4 = tf.reshape(stepSize(inp), [Bsz, L, E, 1]); // [B, L, E, 1]
  const a = tf.exp(tf.mul(delta4, inp.A)); // dA [B, L, E, N]
  const b = tf.mul(tf.mul(delta4, tf.reshape(inp.u, [Bsz, L, E, 1])), tf.reshape(inp.B, [Bsz, L, 1, N])); // dBu [B, L, E, N]
  return { a, b };
}

/** y ⊙ silu(z) when a gate z is given. */
function gate(y: Tensor, z: Tensor | undefined): Tensor {
  return z ? tf.mul(y, tf.mul(z, tf.sigmoid(z))) : y; // [B, L, E]
}

/** y_t = C_t · h_t (+ D ⊙ u_t) (⊙ silu(z_t)) for states h [B, L, E, N]. */
function readout(h: Tensor, inp: SelectiveScanInputs): Tensor {
  const [Bsz, L, , N] = h.shape as [number, number, number, number];
  let y = tf.sum(tf.mul(h, tf.reshape(inp.C, [Bsz, L, 1, N])), 3); // C_t · h_t  [B, L, E]
  if (inp.D) y = tf.add(y, tf.mul(inp.u, inp.D));
  return gate(y, inp.z);
}

/** Parallel form (chunked, never [B, L, E, N]): y [B, L, E] and the last state [B, E, N]. */
export function selectiveScan(inp: SelectiveScanInputs): { y: Tensor; last: Tensor } {
  return tf.tidy(() => {
    const delta = stepSize(inp); // [B, L, E]
    const { y, last } = chunkedSelectiveScan({
      decay: { kind: 'exp', delta, A: inp.A }, // dA_t = exp(Δ_t A)
      v: tf.mul(delta, inp.u), // dBu_t = (Δ_t ⊙ u_t) ⊗ B_t  [B, L, E]
      k: inp.B,
      q: inp.C, // y_t = C_t · h_t
      skip: inp.D ? { D: inp.D, u: inp.u } : undefined,
      h0: inp.h0,
      chunk: inp.chunk,
    });
    return { y: gate(y, inp.z), last };
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
