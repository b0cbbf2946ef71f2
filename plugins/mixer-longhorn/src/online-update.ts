/**
 * Longhorn's state-space recurrence (Liu et al., "Longhorn: State Space Models are Amortized
 * Online Learners", arXiv 2407.14207): each step of the recurrence is the closed-form solution of
 * an online regression problem, then made diagonal so that it scans like Mamba's SSM.
 *
 * Notation (the paper's symbols; B batch, L length; E = d_inner channels, the paper's d;
 * N = d_state, the paper's m):
 *   x_t ∈ R^E       the value to memorise (the conv output of the block)      [B, L, E]
 *   k_t ∈ R^N       key ("B" in Mamba's naming)                              [B, L, N]
 *   q_t ∈ R^N       query ("C" in Mamba's naming)                            [B, L, N]
 *   β_t ∈ (0, 1)^E  per-channel weight of the new observation                [B, L, E]
 *   S_t ∈ R^{E×N}   the state; row i (s_i) is channel i's linear regressor   [B, E, N]
 *
 * The online objective (the "implicit online learning" / online associative-recall problem),
 * independently per channel i:
 *   s_{t,i} = argmin_s  ‖s − s_{t−1,i}‖² + β_{t,i} (sᵀk_t − x_{t,i})²
 * Its gradient vanishes where (I + β k kᵀ) s = s_{t−1} + β x k; by Sherman–Morrison,
 * (I + β k kᵀ)⁻¹ = I − ε k kᵀ with
 *   ε_{t,i} = β_{t,i} / (1 + β_{t,i} k_tᵀk_t)                               (step size)
 *   s_{t,i} = (I − ε_{t,i} k_t k_tᵀ) s_{t−1,i} + ε_{t,i} x_{t,i} k_t        (exact minimiser)
 * (the x-term simplifies because (I − ε k kᵀ) β k = β k / (1 + β kᵀk) = ε k).
 * (I − ε k kᵀ) is not diagonal, so a per-element scan cannot run it; Longhorn keeps only its
 * diagonal, 1 − ε k ⊙ k, which gives the recurrence that is implemented here:
 *   S_t = (1 − ε_t ⊗ k_t^{⊙2}) ⊙ S_{t−1} + (ε_t ⊙ x_t) ⊗ k_t                  [B, E, N]
 *   y_t = S_t q_t + D ⊙ x_t,   then y_t ⊙ silu(z_t) when a gate z is given     [B, E]
 * There is no separate forget gate: the decay 1 − ε k² comes from the objective itself and
 * lies in (0, 1] (ε k_n² < 1 because β k_n² ≤ β kᵀk < 1 + β kᵀk).
 *
 * Parallel form (`longhornScan`): @weft/nn's `chunkedSelectiveScan` with the decay kind
 * 'oneMinus' (a_t = 1 − ε_t ⊗ κ_t, κ_t = k_t²) and the input (ε_t ⊙ x_t) ⊗ k_t, run chunk by chunk
 * along L (a Hillis–Steele prefix scan inside each chunk, the state carried between chunks), so
 * that the coefficients and the states exist only per chunk ([B, chunk, E, N], never
 * [B, L, E, N]); its custom gradient recomputes each chunk from the saved chunk-boundary states.
 * Stable because 0 < a ≤ 1 (products only shrink).
 * Segment resets set a_t = 0 where a new packed sequence starts, so no state crosses the
 * boundary. The sequential form (`longhornRecurrent`) runs the same recurrence one token at a
 * time (@weft/nn's `linearRecurrence`), for decoding.
 */
import { tf, type Tensor } from '@weft/core';
import { chunkedSelectiveScan, linearRecurrence } from '@weft/nn';

export interface LonghornScanInputs {
  x: Tensor; // [B, L, E]
  /** β_t, already in (0, 1) (the block applies the sigmoid). */
  beta: Tensor; // [B, L, E]
  k: Tensor; // [B, L, N]
  q: Tensor; // [B, L, N]
  /** Skip connection D ⊙ x (the reference keeps Mamba's D). */
  D?: Tensor; // [E]
  /** Output gate: y ⊙ silu(z). */
  z?: Tensor; // [B, L, E]
  /** State before the first token [B, E, N]; zeros when omitted. */
  h0?: Tensor;
  /** [B, L], 1 where a new packed sequence starts: the state restarts from zero there. */
  resets?: Tensor;
  /** Steps per chunk of the parallel form (@weft/nn's SELECTIVE_SCAN_CHUNK when omitted); results do not depend on it. */
  chunk?: number;
}

/** ε_t = β_t / (1 + β_t k_tᵀk_t): [B, L, E] from β [B, L, E] and k [B, L, N]. */
export function longhornStepSize(beta: Tensor, k: Tensor): Tensor {
  return tf.tidy(() => {
    const kk = tf.sum(tf.square(k), -1, true); // k_tᵀk_t  [B, L, 1]
    return tf.div(beta, tf.add(1, tf.mul(beta, kk))); // [B, L, E]
  });
}

/** The recurrence's coefficients a = 1 − ε ⊗ k², b = (ε ⊙ x) ⊗ k, each [B, L, E, N]. */
function coefficients(x: Tensor, beta: Tensor, k: Tensor): { a: Tensor; b: Tensor } {
  const [B, L, E] = x.shape as [number, number, number];
  const N = k.shape[2] as number;
  const eps = tf.reshape(longhornStepSize(beta, k), [B, L, E, 1]); // [B, L, E, 1]
  const a = tf.sub(1, tf.mul(eps, tf.reshape(tf.square(k), [B, L, 1, N]))); // [B, L, E, N]
  const b = tf.mul(tf.mul(eps, tf.reshape(x, [B, L, E, 1])), tf.reshape(k, [B, L, 1, N])); // [B, L, E, N]
  return { a, b };
}

/** y ⊙ silu(z) when a gate z is given. */
function gate(y: Tensor, z: Tensor | undefined): Tensor {
  return z ? tf.mul(y, tf.mul(z, tf.sigmoid(z))) : y; // [B, L, E]
}

/** y_t = S_t q_t (+ D ⊙ x_t) (⊙ silu(z_t)) for states S [B, L, E, N]. */
function readout(S: Tensor, inp: Pick<LonghornScanInputs, 'x' | 'q' | 'D' | 'z'>): Tensor {
  const [B, L, E, N] = S.shape as [number, number, number, number];
  let y = tf.reshape(tf.matMul(tf.reshape(S, [B * L, E, N]), tf.reshape(inp.q, [B * L, N, 1])), [B, L, E]); // S_t q_t  [B, L, E]
  if (inp.D) y = tf.add(y, tf.mul(inp.x, inp.D));
  return gate(y, inp.z);
}

function checkShapes(inp: LonghornScanInputs): [number, number, number, number] {
  const [B, L, E] = inp.x.shape as [number, number, number];
  const N = inp.k.shape[2] as number;
  const same = (t: Tensor | undefined, s: number[]) => !t || t.shape.join(',') === s.join(',');
  if (inp.x.rank !== 3 || !same(inp.beta, [B, L, E]) || !same(inp.k, [B, L, N]) || !same(inp.q, [B, L, N]) || !same(inp.z, [B, L, E]) || !same(inp.h0, [B, E, N]) || !same(inp.resets, [B, L])) {
    throw new RangeError(
      `longhornScan: x, beta, z must be [B, L, E], k and q [B, L, N], h0 [B, E, N], resets [B, L]; got x [${inp.x.shape}], beta [${inp.beta.shape}], k [${inp.k.shape}], q [${inp.q.shape}]` +
        `${inp.z ? `, z [${inp.z.shape}]` : ''}${inp.h0 ? `, h0 [${inp.h0.shape}]` : ''}${inp.resets ? `, resets [${inp.resets.shape}]` : ''}`,
    );
  }
  return [B, L, E, N];
}

/** Parallel (chunked prefix-scan) form: y [B, L, E] and the state after the last token [B, E, N]. */
export function longhornScan(inp: LonghornScanInputs): { y: Tensor; last: Tensor } {
  checkShapes(inp);
  return tf.tidy(() => {
    const eps = longhornStepSize(inp.beta, inp.k); // ε  [B, L, E]
    const { y, last } = chunkedSelectiveScan({
      decay: { kind: 'oneMinus', eps, kappa: tf.square(inp.k) }, // a_t = 1 − ε_t ⊗ k_t²
      v: tf.mul(eps, inp.x), // b_t = (ε_t ⊙ x_t) ⊗ k_t  [B, L, E]
      k: inp.k,
      q: inp.q, // y_t = S_t q_t
      skip: inp.D ? { D: inp.D, u: inp.x } : undefined,
      h0: inp.h0,
      resets: inp.resets,
      chunk: inp.chunk,
    });
    return { y: gate(y, inp.z), last };
  });
}

/** Sequential form from a state S0 [B, E, N] over T tokens (decoding): y [B, T, E] and S_T. */
export function longhornRecurrent(inp: Omit<LonghornScanInputs, 'h0' | 'resets'> & { S0: Tensor }): { y: Tensor; last: Tensor } {
  checkShapes({ ...inp, h0: inp.S0 });
  return tf.tidy(() => {
    const { a, b } = coefficients(inp.x, inp.beta, inp.k); // [B, T, E, N]
    const { h: S, last } = linearRecurrence(a, b, { h0: inp.S0 }); // S_t = (1 − ε ⊗ k²) ⊙ S_{t−1} + (ε ⊙ x) ⊗ k
    return { y: readout(S, inp), last }; // [B, T, E], [B, E, N]
  });
}
