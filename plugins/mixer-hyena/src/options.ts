/** Options of the 'hyena' mixer: the reference HyenaOperator / HyenaFilter names and defaults. */
import { ConfigError, z } from '@weft/core';

const posInt = (field: string, meaning: string, example: number) =>
  z
    .number({ error: `${field} must be a positive integer (${meaning}), e.g. ${example}` })
    .int({ error: `${field} must be a whole number (${meaning}), e.g. ${example}` })
    .positive({ error: `${field} must be >= 1 (${meaning}); the reference uses ${example}` });

export const hyenaOptions = z.object({
  /** Longest sequence: the positional features of the implicit filter are laid out over l_max. */
  l_max: posInt('l_max', 'longest sequence the filters are defined on', 1024).default(1024),
  /** N, the Hyena recurrence depth: N gates x_1..x_{N−1}, x_0 and N−1 long convolutions. */
  order: posInt('order', 'number of projections minus one', 2).min(2, { error: 'order must be >= 2 (one long convolution per extra projection); the paper uses 2' }).default(2),
  /** Width of the implicit filter MLP. */
  filter_order: posInt('filter_order', 'hidden width of the filter MLP', 64).default(64),
  /** Positional feature size: t plus (emb_dim − 1)/2 cos/sin bands. Odd, >= 3. */
  emb_dim: posInt('emb_dim', 'positional features of the filter MLP', 3).min(3, { error: 'emb_dim must be >= 3 (t, cos, sin); the reference uses 3' }).default(3),
  /** Hidden Linear + Sin layers between the first and the output layer of the filter MLP. */
  num_inner_mlps: z.number({ error: 'num_inner_mlps must be a non-negative integer, e.g. 2' }).int({ error: 'num_inner_mlps must be a whole number, e.g. 2' }).nonnegative({ error: 'num_inner_mlps must be >= 0; the reference uses 2' }).default(2),
  /** Initial frequency of the Sin activation (learned). */
  w: z.number({ error: 'w must be a number (initial Sin frequency), e.g. 1' }).default(1),
  /** Decay window: the fastest channel decays to `target` at fast_decay_pct · l_max, the slowest at slow_decay_pct · l_max. */
  fast_decay_pct: z.number({ error: 'fast_decay_pct must be a number, e.g. 0.3' }).positive({ error: 'fast_decay_pct must be > 0; the reference uses 0.3' }).default(0.3),
  slow_decay_pct: z.number({ error: 'slow_decay_pct must be a number, e.g. 1.5' }).positive({ error: 'slow_decay_pct must be > 0; the reference uses 1.5' }).default(1.5),
  target: z.number({ error: 'target must be a number, e.g. 0.01' }).gt(0, { error: 'target must be in (0, 1); the reference uses 0.01' }).lt(1, { error: 'target must be in (0, 1); the reference uses 0.01' }).default(0.01),
  /** How the long convolution is computed: exact Toeplitz matmul O(L²), matmul FFT O(L^1.5), or 'auto' (FFT from L = 96 on). */
  conv: z
    .enum(['auto', 'fft', 'toeplitz'], { error: "conv must be 'auto', 'fft' or 'toeplitz' (how the long convolution is computed); the default is 'auto'" })
    .default('auto'),
});

export type HyenaOptions = z.output<typeof hyenaOptions>;

export function checkHyenaOptions(opts: HyenaOptions, path: string): void {
  if (opts.emb_dim % 2 === 0) {
    throw new ConfigError(`${path}.emb_dim`, `emb_dim must be odd (t plus cos/sin pairs), got ${opts.emb_dim}; use ${opts.emb_dim + 1} or ${opts.emb_dim - 1}`);
  }
}
