/** Shared test helpers: naive float64 matmul and causal multi-head attention for one batch row. */

/** [n, k] @ [k, m] in float64. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) out[i * m + j] += a[i * k + t] * b[t * m + j];
  return out;
}

/** Causal softmax attention by loops: q, k, v [L, H·Dh] of one batch row -> [L, H·Dh]. */
export function causalAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, L: number, H: number, Dh: number): Float64Array {
  const o = new Float64Array(L * H * Dh);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < L; i++) {
      const s: number[] = [];
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[i * H * Dh + h * Dh + d] * k[j * H * Dh + h * Dh + d];
        s.push(dot / Math.sqrt(Dh));
      }
      const m = Math.max(...s);
      const p = s.map((x) => Math.exp(x - m));
      const z = p.reduce((a, b) => a + b, 0);
      for (let d = 0; d < Dh; d++) o[i * H * Dh + h * Dh + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[j * H * Dh + h * Dh + d], 0);
    }
  return o;
}
