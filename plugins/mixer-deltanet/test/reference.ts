/**
 * The delta rule as the paper writes it (§2.2, Eq. 3), in float64 loops, independent of the plugin:
 *   S_t = S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ      (S is [Dv, Dk], S_0 = 0)
 *   o_t = S_t q_t
 * q, k [B, H, L, Dk], v [B, H, L, Dv], beta [B, H, L], row-major. Returns o [B, H, L, Dv].
 */
export function naiveDeltaRule(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, beta: ArrayLike<number>, B: number, H: number, L: number, Dk: number, Dv: number): Float64Array {
  const o = new Float64Array(B * H * L * Dv);
  for (let bh = 0; bh < B * H; bh++) {
    let S = Array.from({ length: Dv }, () => new Float64Array(Dk));
    for (let t = 0; t < L; t++) {
      const kt = Array.from({ length: Dk }, (_, j) => k[(bh * L + t) * Dk + j]);
      const qt = Array.from({ length: Dk }, (_, j) => q[(bh * L + t) * Dk + j]);
      const vt = Array.from({ length: Dv }, (_, i) => v[(bh * L + t) * Dv + i]);
      const b = beta[bh * L + t];
      // M = I − β k kᵀ  [Dk, Dk]
      const M = Array.from({ length: Dk }, (_, r) => Float64Array.from({ length: Dk }, (_, c) => (r === c ? 1 : 0) - b * kt[r] * kt[c]));
      const next = Array.from({ length: Dv }, () => new Float64Array(Dk));
      for (let i = 0; i < Dv; i++)
        for (let c = 0; c < Dk; c++) {
          let s = b * vt[i] * kt[c];
          for (let r = 0; r < Dk; r++) s += S[i][r] * M[r][c];
          next[i][c] = s;
        }
      S = next;
      for (let i = 0; i < Dv; i++) {
        let s = 0;
        for (let j = 0; j < Dk; j++) s += S[i][j] * qt[j];
        o[(bh * L + t) * Dv + i] = s;
      }
    }
  }
  return o;
}
