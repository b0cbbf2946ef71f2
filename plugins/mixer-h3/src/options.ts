/** Options of the 'h3' mixer: the reference H3 layer's names and defaults. */
import { z } from '@weft/core';

export const h3Options = z.object({
  /** N: taps of the shift SSM (FIR length) and the diagonal SSM's state size (N/2 complex modes; even). */
  d_state: z
    .number({ error: 'd_state must be a positive even integer (SSM state size N), e.g. 64' })
    .int({ error: 'd_state must be a whole number (SSM state size N), e.g. 64' })
    .min(2, { error: 'd_state must be >= 2 (SSM state size N); the paper uses 64' })
    .default(64),
  /** Initial Δ of the diagonal SSM, log-uniform in [dt_min, dt_max]. */
  dt_min: z.number({ error: 'dt_min must be a number, e.g. 0.001' }).positive({ error: 'dt_min must be > 0 (smallest initial Δ); the reference uses 0.001' }).default(0.001),
  dt_max: z.number({ error: 'dt_max must be a number, e.g. 0.1' }).positive({ error: 'dt_max must be > 0 (largest initial Δ); the reference uses 0.1' }).default(0.1),
  /** How the long convolution is computed: exact Toeplitz matmul O(L²), matmul FFT O(L^1.5), or 'auto' (FFT from L = 96 on). */
  conv: z
    .enum(['auto', 'fft', 'toeplitz'], { error: "conv must be 'auto', 'fft' or 'toeplitz' (how the long convolution is computed); the default is 'auto'" })
    .default('auto'),
});

export type H3Options = z.output<typeof h3Options>;
