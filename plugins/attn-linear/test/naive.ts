/**
 * Independent references for the tests: plain float64 loops over flat arrays, written from
 * the paper's formulas (no tfjs, nothing shared with src/).
 */
const elu1 = (x: number) => (x > 0 ? x + 1 : Math.exp(x));

export interface Dims {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  D: number;
  Dv: number;
}

/**
 * The quadratic form of eq. 4-6: out_i = Σ_j w_ij v_j / Σ_j w_ij with w_ij = φ(q_i)·φ(k_j),
 * restricted to j ≤ i + offset when causal and to unmasked keys; ε added to the denominator.
 */
export function naiveLinearAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  { B, H, Lq, Lk, D, Dv }: Dims,
  opts: { causal: boolean; offset?: number; eps?: number; keyMask?: ArrayLike<number> },
): Float64Array {
  const eps = opts.eps ?? 1e-6;
  const offset = opts.offset ?? Lk - Lq;
  const out = new Float64Array(B * H * Lq * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++) {
        let den = 0;
        const num = new Float64Array(Dv);
        for (let j = 0; j < Lk; j++) {
          if (opts.causal && j > i + offset) continue;
          if (opts.keyMask && opts.keyMask[b * Lk + j] === 0) continue;
          let w = 0;
          for (let d = 0; d < D; d++) w += elu1(q[((b * H + h) * Lq + i) * D + d]) * elu1(k[((b * H + h) * Lk + j) * D + d]);
          den += w;
          for (let e = 0; e < Dv; e++) num[e] += w * v[((b * H + h) * Lk + j) * Dv + e];
        }
        for (let e = 0; e < Dv; e++) out[((b * H + h) * Lq + i) * Dv + e] = num[e] / (den + eps);
      }
  return out;
}
