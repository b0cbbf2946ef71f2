/**
 * Independent references: plain float64 loops from the paper's formulas (eq. 2.3-2.4), in the
 * QUADRATIC order (the n×n matrix first), nothing shared with src/.
 *   LN_h(x) = (x − mean(x)) / sqrt(var(x) + eps) · gain[h] + bias[h]   (biased variance)
 *   Galerkin: z_i = Σ_j (q_i · LN(k_j)) LN(v_j) / n
 *   Fourier:  z_i = Σ_j (LN(q_i) · LN(k_j)) v_j / n
 */
type Arr = ArrayLike<number>;

function ln(x: Arr, row: number, D: number, gain: Arr, bias: Arr, h: number, eps: number): number[] {
  const xs = Array.from({ length: D }, (_, d) => x[row * D + d]);
  const mean = xs.reduce((a, b) => a + b, 0) / D;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
  return xs.map((t, d) => ((t - mean) / Math.sqrt(variance + eps)) * gain[h * D + d] + bias[h * D + d]);
}

export function naiveGalerkinFourier(
  variant: 'galerkin' | 'fourier',
  q: Arr, k: Arr, v: Arr,
  dims: { B: number; H: number; Lq: number; Lk: number; D: number },
  norms: { gainA: Arr; biasA: Arr; gainB: Arr; biasB: Arr },
  eps = 1e-5,
): Float64Array {
  const { B, H, Lq, Lk, D } = dims;
  const out = new Float64Array(B * H * Lq * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++) {
        const qRow = (b * H + h) * Lq + i;
        const qi = variant === 'fourier' ? ln(q, qRow, D, norms.gainA, norms.biasA, h, eps) : Array.from({ length: D }, (_, d) => q[qRow * D + d]);
        for (let j = 0; j < Lk; j++) {
          const kvRow = (b * H + h) * Lk + j;
          const kj = variant === 'fourier' ? ln(k, kvRow, D, norms.gainB, norms.biasB, h, eps) : ln(k, kvRow, D, norms.gainA, norms.biasA, h, eps);
          const vj = variant === 'galerkin' ? ln(v, kvRow, D, norms.gainB, norms.biasB, h, eps) : Array.from({ length: D }, (_, d) => v[kvRow * D + d]);
          let w = 0;
          for (let d = 0; d < D; d++) w += qi[d] * kj[d];
          for (let e = 0; e < D; e++) out[qRow * D + e] += (w * vj[e]) / Lk;
        }
      }
  return out;
}
