/**
 * Independent reference for a NoPE attention layer with per-head temperature, in plain loops:
 *   y = concat_h softmax(λ_h q_h k_hᵀ / √Dh [+ causal mask]) v_h · W_o,   q = x W_q, ...
 * Uses core's loop-based naiveAttention one head at a time (its scale is a plain number).
 */
import { naiveAttention, naiveMatmul } from '@weft/core/testing';

export interface LayerWeights {
  wq: ArrayLike<number>;
  wk: ArrayLike<number>;
  wv: ArrayLike<number>;
  wo: ArrayLike<number>;
}

export function naiveNopeLayer(x: ArrayLike<number>, w: LayerWeights, lambda: number[], dims: { B: number; L: number; D: number; H: number }, causal: boolean): Float32Array {
  const { B, L, D, H } = dims;
  const Dh = D / H;
  const [q, k, v] = [w.wq, w.wk, w.wv].map((m) => naiveMatmul(x, m, B * L, D, D)); // [B·L, D]
  const head = (t: Float32Array, b: number, h: number) => {
    const out = new Float32Array(L * Dh);
    for (let i = 0; i < L; i++) for (let d = 0; d < Dh; d++) out[i * Dh + d] = t[(b * L + i) * D + h * Dh + d];
    return out;
  };
  const merged = new Float32Array(B * L * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const o = naiveAttention(head(q, b, h), head(k, b, h), head(v, b, h), { B: 1, H: 1, Lq: L, Lk: L, Dh }, { causal, scale: lambda[h] / Math.sqrt(Dh), queryOffset: 0 });
      for (let i = 0; i < L; i++) for (let d = 0; d < Dh; d++) merged[(b * L + i) * D + h * Dh + d] = o[i * Dh + d];
    }
  }
  return naiveMatmul(merged, w.wo, B * L, D, D);
}
