/**
 * Cottention — Mongaras, Dohm & Larson, "Cottention: Linear Transformers With Cosine Attention"
 * (arXiv 2409.15358, 2024). Softmax is replaced by cosine similarity, which makes attention
 * associative, hence linear in L and an RNN when causal.
 *
 * Notation (paper → code):
 *   N(x) = x / ‖x‖₂                row-wise L2 normalisation of q and k      `l2normalize`
 *                                   (PyTorch F.normalize: x / max(‖x‖, 1e-12))
 *   Q̂ = N(Q), K̂ = N(K)             [B, H, L, Dh]                               `qh`, `kh`
 *   m_h                            learned per-head scalar (init 0.5)          kernel parameter `m`
 *   σ_h = sigmoid(m_h)             exponent of the length normaliser            `sigma`
 *   O = (Q̂ K̂ᵀ) V / s^σ_h           cosine attention, no softmax, no 1/√d
 *
 * The normaliser s (CONVENTIONS.md, reproduced from the reference GPT code):
 *   bidirectional:  s = L for every row:          o_i = Σ_j (q̂_i·k̂_j) v_j / L^σ_h
 *   causal:         the code computes the causal mask's row counts (1, 2, …, L) and divides
 *                   the VALUE matrix by them, so value row j is divided by (j+1)^σ_h:
 *                                                 o_i = Σ_{j≤i} (q̂_i·k̂_j) v_j / (j+1)^σ_h
 *                   (not by the query's own count (i+1)^σ_h). Writing ṽ_j = v_j / (j+1)^σ_h,
 *   RNN form:       S_i = S_{i−1} + k̂_iᵀ ṽ_i   [Dh, Dv] per head,   o_i = q̂_i S_i
 *
 * Causal training form ("chunkwise"): split L into N = ⌈L/C⌉ chunks; for chunk n
 *   O_n = tril(Q̂_n K̂_nᵀ) Ṽ_n + Q̂_n S_{<n},   S_{<n} = S_0 + Σ_{m<n} K̂_mᵀ Ṽ_m
 * C = 1 is the RNN, C ≥ L the masked quadratic form; results do not depend on C.
 * ṽ_j uses the ABSOLUTE token index j, so decoding continues from a state S and a token count.
 */
import { tf, type Tensor } from '@weft/core';

/** F.normalize(x, p=2, dim=-1): x / max(‖x‖₂, 1e-12). */
export function l2normalize(x: Tensor): Tensor {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12));
}

/** Grouped-query attention: kv head g serves query heads g·H/Hkv .. (g+1)·H/Hkv − 1. */
export function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]);
}

/**
 * ṽ_j = v_j / (start + j + 1)^σ_h (causal) — v [B, H, L, Dv], m [H]; returns [B, H, L, Dv].
 * `start` is the absolute index of the first row.
 */
export function causalScaledValues(v: Tensor, m: Tensor, start: number): Tensor {
  const [, H, L] = v.shape as number[];
  const sigma = tf.reshape(tf.sigmoid(m), [1, H, 1, 1]); // [1, H, 1, 1]
  const logCount = tf.reshape(tf.log(tf.range(start + 1, start + L + 1, 1, 'float32')), [1, 1, L, 1]); // [1, 1, L, 1] log(j+1)
  return tf.mul(v, tf.exp(tf.neg(tf.mul(sigma, logCount)))); // [B, H, L, Dv]
}

/** Σ_{m<n} x_m along axis 1 of x [BH, N, R] (strictly lower-triangular product; tfjs 4.22's Cumsum gradient is wrong off the last axis). */
function exclusivePrefixSum(x: Tensor): Tensor {
  const [BH, N] = x.shape as number[];
  const r = tf.range(0, N, 1, 'int32');
  const strict = tf.cast(tf.greater(tf.reshape(r, [N, 1]), tf.reshape(r, [1, N])), 'float32'); // [N, N]
  return tf.matMul(tf.tile(tf.expandDims(strict, 0), [BH, 1, 1]), x); // [BH, N, R]
}

/**
 * Chunkwise causal product O = tril(Q̂K̂ᵀ)Ṽ (+ Q̂ S_0). qh, kh [B, H, L, Dh]; vt = Ṽ [B, H, L, Dv]
 * (already divided by the counts); optional S0 [B, H, Dh, Dv]. Returns O [B, H, L, Dv] and
 * the state S after the last row.
 */
export function causalCosine(qh: Tensor, kh: Tensor, vt: Tensor, chunkSize: number, S0?: Tensor): { out: Tensor; S: Tensor } {
  const [B, H, L, D] = qh.shape as number[];
  const Dv = (vt.shape as number[])[3];
  const C = Math.max(1, Math.min(chunkSize, L));
  const N = Math.ceil(L / C);
  const pad = N * C - L;
  // Zero rows after the end add nothing to S.
  const padRows = (t: Tensor) => (pad ? tf.pad(t, [[0, 0], [0, 0], [0, pad], [0, 0]]) : t);
  const q = tf.reshape(padRows(qh), [B * H, N, C, D]); // [BH, N, C, Dh]
  const k = tf.reshape(padRows(kh), [B * H, N, C, D]); // [BH, N, C, Dh]
  const v = tf.reshape(padRows(vt), [B * H, N, C, Dv]); // [BH, N, C, Dv]

  const r = tf.range(0, C, 1, 'int32');
  const tril = tf.cast(tf.greaterEqual(tf.reshape(r, [C, 1]), tf.reshape(r, [1, C])), 'float32'); // [C, C]
  const intra = tf.matMul(tf.mul(tf.matMul(q, k, false, true), tril), v); // [BH, N, C, Dv]

  const chunkS = tf.matMul(k, v, true, false); // [BH, N, Dh, Dv]  K̂_nᵀ Ṽ_n
  let prevS = tf.reshape(exclusivePrefixSum(tf.reshape(chunkS, [B * H, N, D * Dv])), [B * H, N, D, Dv]); // [BH, N, Dh, Dv]
  let S = tf.sum(chunkS, 1); // [BH, Dh, Dv]
  if (S0) {
    const s0 = tf.reshape(S0, [B * H, 1, D, Dv]); // [BH, 1, Dh, Dv]
    prevS = tf.add(prevS, s0);
    S = tf.add(S, tf.reshape(s0, [B * H, D, Dv]));
  }
  let out = tf.reshape(tf.add(intra, tf.matMul(q, prevS)), [B, H, N * C, Dv]); // [B, H, N·C, Dv]
  if (pad) out = tf.slice(out, [0, 0, 0, 0], [B, H, L, Dv]); // [B, H, L, Dv]
  return { out, S: tf.reshape(S, [B, H, D, Dv]) };
}

/** Bidirectional form: O = Q̂ (K̂ᵀ V) / L^σ_h. qh [B, H, Lq, Dh], kh [B, H, L, Dh], v [B, H, L, Dv], m [H]. */
export function bidirectionalCosine(qh: Tensor, kh: Tensor, v: Tensor, m: Tensor): Tensor {
  const [, H, L] = kh.shape as number[];
  const denom = tf.reshape(tf.exp(tf.mul(tf.sigmoid(m), Math.log(L))), [1, H, 1, 1]); // [1, H, 1, 1] L^σ_h
  return tf.div(tf.matMul(qh, tf.matMul(kh, v, true, false)), denom); // [B, H, Lq, Dv]
}

export interface CottentionFunctionalOptions {
  causal: boolean;
  chunkSize: number;
}

/**
 * The whole op as a function of (q, k, v, m), for gradient checks: q [B, H, L, Dh],
 * k, v [B, Hkv, L, ·], m [H] → [B, H, L, Dv]. Causal queries are aligned to the last keys.
 */
export function cottention(q: Tensor, k: Tensor, v: Tensor, m: Tensor, opts: CottentionFunctionalOptions): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, D] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const qh = l2normalize(q); // [B, H, Lq, Dh]
    const kh = repeatHeads(l2normalize(k), H); // [B, H, Lk, Dh]
    const vv = repeatHeads(v, H); // [B, H, Lk, Dv]
    if (!opts.causal) return bidirectionalCosine(qh, kh, vv, m);
    const vt = causalScaledValues(vv, m, 0); // [B, H, Lk, Dv]
    const prefix = Lk - Lq;
    if (prefix === 0) return causalCosine(qh, kh, vt, opts.chunkSize).out;
    const Dv = (vv.shape as number[])[3];
    const S0 = tf.matMul(tf.slice(kh, [0, 0, 0, 0], [B, H, prefix, D]), tf.slice(vt, [0, 0, 0, 0], [B, H, prefix, Dv]), true, false); // [B, H, Dh, Dv]
    const kNew = tf.slice(kh, [0, 0, prefix, 0], [B, H, Lq, D]); // [B, H, Lq, Dh]
    const vNew = tf.slice(vt, [0, 0, prefix, 0], [B, H, Lq, Dv]); // [B, H, Lq, Dv]
    return causalCosine(qh, kNew, vNew, opts.chunkSize, S0).out;
  });
}
