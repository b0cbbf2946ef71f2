/**
 * Naive RoPE written from the paper for tests only: a loop over every (batch, head, position,
 * pair), rotating (x_a, x_b) by m·θ_i with θ_i = base^(-2i/d) (RoFormer eq. 15), in float64.
 */
export interface NaiveRopeOptions {
  base: number;
  fraction: number;
  layout: 'interleaved' | 'half-split';
}

export function naiveRope(x: ArrayLike<number>, shape: number[], positions: ArrayLike<number>, opts: NaiveRopeOptions): Float64Array {
  const [B, H, L, Dh] = shape;
  const d = Math.round(opts.fraction * Dh);
  const out = Float64Array.from(x);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        const m = positions[b * L + l];
        const row = ((b * H + h) * L + l) * Dh;
        for (let i = 0; i < d / 2; i++) {
          const theta = Math.pow(opts.base, (-2 * i) / d);
          const ia = opts.layout === 'interleaved' ? 2 * i : i;
          const ib = opts.layout === 'interleaved' ? 2 * i + 1 : i + d / 2;
          const xa = x[row + ia];
          const xb = x[row + ib];
          out[row + ia] = xa * Math.cos(m * theta) - xb * Math.sin(m * theta);
          out[row + ib] = xa * Math.sin(m * theta) + xb * Math.cos(m * theta);
        }
      }
    }
  }
  return out;
}
