/**
 * Independent references, plain float64 loops, nothing shared with src/.
 *   φ(x)_h = [exp(x W_h + b_h), exp(−x W_h − b_h)]
 *   y_i = Σ_j (φ(q_i)·φ(k_j)) v_j / Σ_j φ(q_i)·φ(k_j)      (j ≤ i when causal)
 */
type Arr = ArrayLike<number>;

export function naiveHedgehog(q: Arr, k: Arr, v: Arr, W: Arr, b: Arr, dims: { B: number; H: number; N: number; D: number }, causal: boolean): Float64Array {
  const { B, H, N, D } = dims;
  const phi = (x: Arr, row: number, h: number) => {
    const z = Array.from({ length: D }, (_, e) => {
      let s = b[h * D + e];
      for (let d = 0; d < D; d++) s += x[row * D + d] * W[(h * D + d) * D + e];
      return s;
    });
    return [...z.map(Math.exp), ...z.map((t) => Math.exp(-t))];
  };
  const out = new Float64Array(B * H * N * D);
  for (let bb = 0; bb < B; bb++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++) {
        const r = (bb * H + h) * N;
        const fq = phi(q, r + i, h);
        let z = 0;
        for (let j = 0; j < N; j++) {
          if (causal && j > i) continue;
          const fk = phi(k, r + j, h);
          const w = fq.reduce((s, t, f) => s + t * fk[f], 0);
          z += w;
          for (let d = 0; d < D; d++) out[(r + i) * D + d] += w * v[(r + j) * D + d];
        }
        for (let d = 0; d < D; d++) out[(r + i) * D + d] /= z;
      }
  return out;
}
