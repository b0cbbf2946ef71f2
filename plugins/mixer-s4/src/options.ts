/** Options of the 's4' mixer (S4D): the reference `s4d.py` names and defaults. */
import { ConfigError, z } from '@weft/core';

export const s4Options = z.object({
  /** N, the state size per channel: N/2 complex modes (conjugate pairs). Must be even. */
  d_state: z
    .number({ error: 'd_state must be a positive even integer (state size N = 2 × complex modes), e.g. 64' })
    .int({ error: 'd_state must be a whole number (state size N), e.g. 64' })
    .min(2, { error: 'd_state must be >= 2 (state size N, N/2 complex modes); the reference uses 64' })
    .default(64),
  /** Initial step sizes Δ = exp(log_dt), log_dt ~ U[log dt_min, log dt_max] per channel. */
  dt_min: z.number({ error: 'dt_min must be a number, e.g. 0.001' }).positive({ error: 'dt_min must be > 0 (smallest initial Δ); the reference uses 0.001' }).default(0.001),
  dt_max: z.number({ error: 'dt_max must be a number, e.g. 0.1' }).positive({ error: 'dt_max must be > 0 (largest initial Δ); the reference uses 0.1' }).default(0.1),
  /** How the long convolution is computed: exact Toeplitz matmul O(L²), matmul FFT O(L^1.5), or 'auto' (FFT from L = 96 on). */
  conv: z
    .enum(['auto', 'fft', 'toeplitz'], { error: "conv must be 'auto', 'fft' or 'toeplitz' (how the long convolution is computed); the default is 'auto'" })
    .default('auto'),
});

export type S4Options = z.output<typeof s4Options>;

/** Cross-field checks zod cannot express per field. */
export function checkS4Options(opts: { d_state: number; dt_min: number; dt_max: number }, path: string): void {
  if (opts.d_state % 2 !== 0) {
    throw new ConfigError(`${path}.d_state`, `d_state must be even (N/2 complex conjugate modes), got ${opts.d_state}; use ${opts.d_state + 1} or ${opts.d_state - 1}`);
  }
  if (opts.dt_min >= opts.dt_max) {
    throw new ConfigError(`${path}.dt_min`, `dt_min (${opts.dt_min}) must be smaller than dt_max (${opts.dt_max}); the reference uses dt_min 0.001, dt_max 0.1`);
  }
}
