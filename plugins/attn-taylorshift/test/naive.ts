/**
 * Independent reference: Taylor-Softmax attention as plain float64 loops, nothing shared with src/.
 *   x_ij = q̂_i · k̂_j  (q̂ = τ_h q/‖q‖, k̂ = k/‖k‖ when `temperature` is given; else scale · q_i · k_j)
 *   w_ij = 1 + x_ij + x_ij²/2   (0 for j > i when causal)
 *   y_i  = Σ_j w_ij v_j / Σ_j w_ij
 */
type Arr = ArrayLike<number>;

export function naiveTaylor(
  q: Arr, k: Arr, v: Arr,
  dims: { B: number; H: number; L: number; D: number },
  opts: { causal: boolean; temperature?: Arr; scale?: number },
): Float64Array {
  const { B, H, L, D } = dims;
  const out = new Float64Array(B * H * L * D);
  const row = (a: Arr, r: number) => Array.from({ length: D }, (_, d) => a[r * D + d]);
  const unit = (x: number[]) => {
    const n = Math.sqrt(x.reduce((s, t) => s + t * t, 0));
    return x.map((t) => t / n);
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) {
        const r = (b * H + h) * L;
        const qi = opts.temperature ? unit(row(q, r + i)).map((t) => t * opts.temperature![h]) : row(q, r + i).map((t) => t * (opts.scale ?? 1));
        let z = 0;
        const acc = new Float64Array(D);
        for (let j = 0; j < L; j++) {
          if (opts.causal && j > i) continue;
          const kj = opts.temperature ? unit(row(k, r + j)) : row(k, r + j);
          const x = qi.reduce((s, t, d) => s + t * kj[d], 0);
          const w = 1 + x + (x * x) / 2;
          z += w;
          for (let d = 0; d < D; d++) acc[d] += w * v[(r + j) * D + d];
        }
        for (let d = 0; d < D; d++) out[(r + i) * D + d] = acc[d] / z;
      }
  return out;
}
