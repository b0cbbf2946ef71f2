/**
 * Hedgehog's causal linear attention in chunks — the parallel training form whose memory is
 * O(N·F + N·C) instead of the O(N·F·Dv) of a cumulative sum of per-position outer products.
 *
 * Notation (per batch row and head; rows are positions):
 *   φ(Q), φ(K)       features [N, F] (F = 2·Dh, see `featureMap`)            `fq`, `fk`
 *   V̂ = [V, 1]       values with a column of ones [N, Dv + 1]: its last output column is the
 *                    normaliser φ(q_i)ᵀ Σ_{j≤i} φ(k_j)                        `v1`
 *   C                chunk length (`chunkSize`); chunk n holds rows nC .. nC + C − 1, M = ⌈N/C⌉
 *   S_{<n}           S_0 + Σ_{m<n} φ(K_m)ᵀ V̂_m  [F, Dv + 1], the state carried into chunk n
 *   Ŷ_n = (φ(Q_n) φ(K_n)ᵀ ⊙ tril) V̂_n + φ(Q_n) S_{<n}       [C, Dv + 1]
 *   y_i = Ŷ_i[:Dv] / Ŷ_i[Dv]  = φ(q_i)ᵀ Σ_{j≤i} φ(k_j) v_jᵀ / φ(q_i)ᵀ Σ_{j≤i} φ(k_j)
 * (the causal linear attention of the paper's §2, sums over j ≤ i). C = 1 is the recurrence
 * used for decoding; C ≥ N is the masked quadratic form. Results do not depend on C beyond
 * float rounding.
 *
 * All chunks are computed at once: the intra-chunk products as [B·H, M, C, C] and the carried
 * states as an exclusive prefix sum over the per-chunk states [B·H, M, F, Dv + 1], so autodiff
 * keeps O(N·C + N·F·Dv / C) floats.
 */
import { tf, type Tensor } from '@weft/core';

/**
 * Σ_{m<n} x_m along axis 1 of x [R, M, K] (an exclusive prefix sum over chunks), with its
 * adjoint written out — dx_m = Σ_{n>m} dy_n, the reverse exclusive sum — because tfjs 4.22's
 * Cumsum gradient returns a transposed shape for any axis but the last.
 */
const exclusivePrefixSum = tf.customGrad(((x: Tensor) => ({
  value: tf.cumsum(x, 1, true), // [R, M, K]
  gradFunc: (dy: Tensor) => tf.cumsum(dy, 1, true, true), // [R, M, K]
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: Tensor) => Tensor;

/**
 * Chunked causal linear attention. fq, fk: features [B, H, N, F]; v [B, H, N, Dv]; optional
 * state S0 [B, H, F, Dv + 1] carried from earlier positions. Returns the output [B, H, N, Dv]
 * and the state after the last position, S [B, H, F, Dv + 1].
 */
export function causalChunked(fq: Tensor, fk: Tensor, v: Tensor, chunkSize: number, S0?: Tensor): { out: Tensor; S: Tensor } {
  return tf.tidy(() => {
    const [B, H, N, F] = fk.shape as number[];
    const Dv = (v.shape as number[])[3];
    const E = Dv + 1;
    const C = Math.max(1, Math.min(chunkSize, N));
    const M = Math.ceil(N / C);
    const pad = M * C - N;
    const v1 = tf.concat([v, tf.ones([B, H, N, 1])], -1); // [B, H, N, Dv + 1]
    // Zero rows past the end: a zero φ(k) row adds nothing to any state or product.
    const chunks = (t: Tensor) => {
      const w = (t.shape as number[])[3];
      return tf.reshape(pad ? tf.pad(t, [[0, 0], [0, 0], [0, pad], [0, 0]]) : t, [B * H, M, C, w]); // [B·H, M, C, w]
    };
    const q = chunks(fq); // [B·H, M, C, F]
    const k = chunks(fk); // [B·H, M, C, F]
    const vv = chunks(v1); // [B·H, M, C, Dv + 1]

    // Intra-chunk: (φ(Q_n) φ(K_n)ᵀ ⊙ tril) V̂_n.
    const r = tf.range(0, C, 1, 'int32');
    const tril = tf.cast(tf.greaterEqual(tf.reshape(r, [C, 1]), tf.reshape(r, [1, C])), 'float32'); // [C, C]: j ≤ i
    const intra = tf.matMul(tf.mul(tf.matMul(q, k, false, true), tril), vv); // [B·H, M, C, Dv + 1]

    // Inter-chunk: φ(Q_n) S_{<n}, with S_{<n} an exclusive prefix sum of the chunk states.
    const chunkS = tf.matMul(k, vv, true, false); // [B·H, M, F, Dv + 1]: φ(K_n)ᵀ V̂_n
    let prevS = tf.reshape(exclusivePrefixSum(tf.reshape(chunkS, [B * H, M, F * E])), [B * H, M, F, E]); // [B·H, M, F, Dv + 1]
    let S = tf.sum(chunkS, 1); // [B·H, F, Dv + 1]
    if (S0) {
      prevS = tf.add(prevS, tf.reshape(S0, [B * H, 1, F, E]));
      S = tf.add(S, tf.reshape(S0, [B * H, F, E]));
    }
    const y = tf.add(intra, tf.matMul(q, prevS)); // [B·H, M, C, Dv + 1]

    // Drop the padded rows before dividing (they are 0/0, whose gradient would be NaN).
    const yAll = tf.reshape(y, [B, H, M * C, E]); // [B, H, M·C, Dv + 1]
    const yN = pad ? tf.slice(yAll, [0, 0, 0, 0], [B, H, N, E]) : yAll; // [B, H, N, Dv + 1]
    const out = tf.div(tf.slice(yN, [0, 0, 0, 0], [B, H, N, Dv]), tf.slice(yN, [0, 0, 0, Dv], [B, H, N, 1])); // [B, H, N, Dv]
    return { out, S: tf.reshape(S, [B, H, F, E]) };
  });
}
