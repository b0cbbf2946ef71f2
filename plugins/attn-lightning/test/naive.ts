/**
 * Independent reference for the tests: plain float64 loops over flat arrays, from the formula
 * o_i = Σ_{j ≤ i + offset} λ_h^(i + offset − j) (q_i·k_j) v_j (no tfjs, nothing from src/).
 */
export function naiveDecayedLinear(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { B: number; H: number; Lq: number; Lk: number; D: number; Dv: number },
  lambda: number[],
  opts: { silu?: boolean; rmsNorm?: number; keyMask?: ArrayLike<number> } = {},
): Float64Array {
  const { B, H, Lq, Lk, D, Dv } = dims;
  const offset = Lk - Lq;
  const f = (x: number) => (opts.silu ? x / (1 + Math.exp(-x)) : x);
  const out = new Float64Array(B * H * Lq * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++)
        for (let j = 0; j <= i + offset; j++) {
          if (opts.keyMask && opts.keyMask[b * Lk + j] === 0) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += f(q[((b * H + h) * Lq + i) * D + d]) * f(k[((b * H + h) * Lk + j) * D + d]);
          const w = lambda[h] ** (i + offset - j) * dot;
          for (let e = 0; e < Dv; e++) out[((b * H + h) * Lq + i) * Dv + e] += w * v[((b * H + h) * Lk + j) * Dv + e];
        }
  if (opts.rmsNorm !== undefined) {
    // x / sqrt(mean over the token's H·Dv values of x² + ε)
    for (let b = 0; b < B; b++)
      for (let i = 0; i < Lq; i++) {
        let ss = 0;
        for (let h = 0; h < H; h++) for (let e = 0; e < Dv; e++) ss += out[((b * H + h) * Lq + i) * Dv + e] ** 2;
        const scale = 1 / Math.sqrt(ss / (H * Dv) + opts.rmsNorm);
        for (let h = 0; h < H; h++) for (let e = 0; e < Dv; e++) out[((b * H + h) * Lq + i) * Dv + e] *= scale;
      }
  }
  return out;
}
