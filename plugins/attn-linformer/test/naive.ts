/**
 * Independent reference: Linformer eq. (7) as plain float64 loops, nothing shared with src/.
 *   K̄[h, r, :] = Σ_j E_h[j, r] K[h, j, :]      (E_h the head's (n, k) matrix, first L rows)
 *   V̄[h, r, :] = Σ_j F_h[j, r] V[h, j, :]
 *   out[h, i, :] = Σ_r softmax_r(scale · q_i · K̄_r) V̄_r
 * `perHead`: E, F are [H, n, k]; otherwise [n, k] shared by the heads.
 */
type Arr = ArrayLike<number>;

export function naiveLinformer(
  q: Arr, k: Arr, v: Arr, E: Arr, F: Arr,
  dims: { B: number; H: number; L: number; D: number; n: number; kProj: number; perHead: boolean },
  scale: number,
): Float64Array {
  const { B, H, L, D, n, kProj, perHead } = dims;
  const out = new Float64Array(B * H * L * D);
  const proj = (P: Arr, h: number, j: number, r: number) => P[(perHead ? h * n * kProj : 0) + j * kProj + r];
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * L * D;
      const kBar = Array.from({ length: kProj }, () => new Float64Array(D));
      const vBar = Array.from({ length: kProj }, () => new Float64Array(D));
      for (let r = 0; r < kProj; r++)
        for (let j = 0; j < L; j++)
          for (let d = 0; d < D; d++) {
            kBar[r][d] += proj(E, h, j, r) * k[base + j * D + d];
            vBar[r][d] += proj(F, h, j, r) * v[base + j * D + d];
          }
      for (let i = 0; i < L; i++) {
        const logits = kBar.map((kr) => {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[base + i * D + d] * kr[d];
          return s * scale;
        });
        const mx = Math.max(...logits);
        const w = logits.map((x) => Math.exp(x - mx));
        const z = w.reduce((a, c) => a + c, 0);
        for (let r = 0; r < kProj; r++) for (let d = 0; d < D; d++) out[base + i * D + d] += (w[r] / z) * vBar[r][d];
      }
    }
  return out;
}
