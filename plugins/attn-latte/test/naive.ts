/**
 * Independent reference: Latte as plain float64 loops from the paper's formula, nothing shared
 * with src/. Inputs are the latent logits ql [B, H, N, L], kl [B, H, M, L] and v [B, H, M, Dv].
 *   p(l|t) = softmax_l(ql_t)
 *   out_t  = Σ_l p(l|t) · Σ_{s ∈ S(t)} exp(kl_{s,l}) v_s / Σ_{s ∈ S(t)} exp(kl_{s,l})
 *   S(t) = {s ≤ t} (causal) or all s (bidirectional)
 */
type Arr = ArrayLike<number>;

export function naiveLatte(ql: Arr, kl: Arr, v: Arr, dims: { B: number; H: number; N: number; L: number; Dv: number }, causal: boolean): Float64Array {
  const { B, H, N, L, Dv } = dims;
  const out = new Float64Array(B * H * N * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let t = 0; t < N; t++) {
        const logits = Array.from({ length: L }, (_, l) => ql[(bh * N + t) * L + l]);
        const mx = Math.max(...logits);
        const e = logits.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, c) => a + c, 0);
        for (let l = 0; l < L; l++) {
          const p = e[l] / z;
          let den = 0;
          const num = new Float64Array(Dv);
          for (let s = 0; s < N; s++) {
            if (causal && s > t) continue;
            const w = Math.exp(kl[(bh * N + s) * L + l]);
            den += w;
            for (let d = 0; d < Dv; d++) num[d] += w * v[(bh * N + s) * Dv + d];
          }
          for (let d = 0; d < Dv; d++) out[(bh * N + t) * Dv + d] += (p * num[d]) / den;
        }
      }
    }
  return out;
}
