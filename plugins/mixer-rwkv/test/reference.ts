/** Naive float64 references written from the paper's formulas, independent of the plugin. */

/**
 * WKV (RWKV paper Eq. 14) summed term by term in float64, every sum taken as a log-sum-exp
 * (subtract the largest exponent) so that k = +60 or +100 cannot overflow:
 *   wkv_t = (Σ_{s≤i<t} e^{(t−1−i)w + k_i} v_i + e^{u+k_t} v_t) / (same with v = 1),
 * where s is the first token of t's segment (`segments[b]`, ids; 0 when absent).
 * w = −exp(time_decay). k, v row-major [B, L, C].
 */
export function naiveWkv(timeDecay: ArrayLike<number>, u: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, L: number, C: number, segments?: number[][]): Float64Array {
  const out = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      const w = -Math.exp(timeDecay[c]);
      let start = 0;
      for (let t = 0; t < L; t++) {
        if (segments && t > 0 && segments[b][t] !== segments[b][t - 1]) start = t;
        const exps: number[] = [];
        const vals: number[] = [];
        for (let i = start; i < t; i++) {
          exps.push((t - 1 - i) * w + k[(b * L + i) * C + c]);
          vals.push(v[(b * L + i) * C + c]);
        }
        exps.push(u[c] + k[(b * L + t) * C + c]);
        vals.push(v[(b * L + t) * C + c]);
        const m = Math.max(...exps);
        let num = 0;
        let den = 0;
        exps.forEach((e, j) => {
          num += Math.exp(e - m) * vals[j];
          den += Math.exp(e - m);
        });
        out[(b * L + t) * C + c] = num / den;
      }
    }
  return out;
}
