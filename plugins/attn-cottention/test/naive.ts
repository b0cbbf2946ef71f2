/**
 * Independent reference for the tests: plain float64 loops over flat arrays, written from the
 * paper's formula (no tfjs, nothing shared with src/):
 *   causal:        o_i = Σ_{j ≤ i+offset} cos(q_i, k_j) v_j / (j+1)^σ_h
 *   bidirectional: o_i = Σ_j cos(q_i, k_j) v_j / Lk^σ_h
 * with cos(a, b) = a·b / (‖a‖‖b‖) and σ_h = 1 / (1 + e^(−m_h)).
 */
export function naiveCottention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  m: number[],
  dims: { B: number; H: number; Lq: number; Lk: number; D: number; Dv: number },
  causal: boolean,
): Float64Array {
  const { B, H, Lq, Lk, D, Dv } = dims;
  const offset = Lk - Lq;
  const out = new Float64Array(B * H * Lq * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const sigma = 1 / (1 + Math.exp(-m[h]));
      for (let i = 0; i < Lq; i++) {
        const qi = (j: number) => q[((b * H + h) * Lq + i) * D + j];
        let qn = 0;
        for (let d = 0; d < D; d++) qn += qi(d) ** 2;
        for (let j = 0; j < Lk; j++) {
          if (causal && j > i + offset) continue;
          let dot = 0;
          let kn = 0;
          for (let d = 0; d < D; d++) {
            const kj = k[((b * H + h) * Lk + j) * D + d];
            dot += qi(d) * kj;
            kn += kj * kj;
          }
          const s = causal ? j + 1 : Lk;
          const w = dot / Math.sqrt(qn * kn) / s ** sigma;
          for (let e = 0; e < Dv; e++) out[((b * H + h) * Lq + i) * Dv + e] += w * v[((b * H + h) * Lk + j) * Dv + e];
        }
      }
    }
  return out;
}
