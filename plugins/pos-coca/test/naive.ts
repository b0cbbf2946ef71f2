/**
 * Naive CoCA score written from the paper for tests only, in float64 loops:
 *   k_{m,n}^i = t_n^i q_m^i  (t_n^i = ReLU((T_n[a_i] + T_n[b_i]) / 2)),
 *   a(m, n)   = Σ_i (R(mθ_i) q_m^i) · (R(nθ_i) k_{m,n}^i),
 * with explicit 2×2 rotations; query head h uses key head floor(h / (H / Hkv)).
 */
export interface NaiveCocaOptions {
  base: number;
  layout: 'interleaved' | 'half-split';
}

function rot(x: [number, number], angle: number): [number, number] {
  return [x[0] * Math.cos(angle) - x[1] * Math.sin(angle), x[0] * Math.sin(angle) + x[1] * Math.cos(angle)];
}

/** Scores [B, H, Lq, Lk] (no 1/sqrt(d)). */
export function naiveCocaScores(
  q: ArrayLike<number>, qShape: number[], k: ArrayLike<number>, kShape: number[],
  qPos: ArrayLike<number>, kPos: ArrayLike<number>, opts: NaiveCocaOptions,
): Float64Array {
  const [B, H, Lq, Dh] = qShape;
  const [, Hkv, Lk] = kShape;
  const P = Dh / 2;
  const out = new Float64Array(B * H * Lq * Lk);
  const ia = (i: number) => (opts.layout === 'interleaved' ? 2 * i : i);
  const ib = (i: number) => (opts.layout === 'interleaved' ? 2 * i + 1 : i + P);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      for (let m = 0; m < Lq; m++)
        for (let n = 0; n < Lk; n++) {
          let s = 0;
          const qr = ((b * H + h) * Lq + m) * Dh;
          const kr = ((b * Hkv + g) * Lk + n) * Dh;
          for (let i = 0; i < P; i++) {
            const theta = Math.pow(opts.base, (-2 * i) / Dh);
            const t = Math.max(0, (k[kr + ia(i)] + k[kr + ib(i)]) / 2);
            const qi: [number, number] = [q[qr + ia(i)], q[qr + ib(i)]];
            const ki: [number, number] = [t * qi[0], t * qi[1]]; // collinear key
            const a = rot(qi, qPos[b * Lq + m] * theta);
            const c = rot(ki, kPos[b * Lk + n] * theta);
            s += a[0] * c[0] + a[1] * c[1];
          }
          out[((b * H + h) * Lq + m) * Lk + n] = s;
        }
    }
  return out;
}
