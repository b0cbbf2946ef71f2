/** Options of the 'mamba' mixer: the reference implementation's names and defaults. */
import { ConfigError, z } from '@weft/core';

const positiveInt = (field: string, meaning: string, example: number) =>
  z
    .number({ error: `${field} must be a positive integer (${meaning}), e.g. ${example}` })
    .int({ error: `${field} must be a whole number (${meaning}), e.g. ${example}` })
    .positive({ error: `${field} must be >= 1 (${meaning}); the paper uses ${example}` });

export const mambaOptions = z.object({
  /** N, the SSM state size per channel. */
  d_state: positiveInt('d_state', 'SSM state size N', 16).default(16),
  /** Width of the causal depthwise convolution before the scan. */
  d_conv: positiveInt('d_conv', 'causal conv width', 4)
    .min(2, { error: 'd_conv must be >= 2 (causal conv width; 1 would see no past tokens); the paper uses 4' })
    .default(4),
  /** d_inner = expand · dModel. */
  expand: positiveInt('expand', 'd_inner = expand · dModel', 2).default(2),
  /** Rank of the Δ projection; 'auto' = ceil(dModel / 16). */
  dt_rank: z
    .union([z.literal('auto'), positiveInt('dt_rank', 'rank of the Δ projection', 1)], {
      error: "dt_rank must be 'auto' (= ceil(dModel / 16)) or a positive integer",
    })
    .default('auto'),
  /** Δ is initialised log-uniform in [dt_min, dt_max] (through dt_proj's bias). */
  dt_min: z.number({ error: 'dt_min must be a number, e.g. 0.001' }).positive({ error: 'dt_min must be > 0 (smallest initial Δ); the paper uses 0.001' }).default(0.001),
  dt_max: z.number({ error: 'dt_max must be a number, e.g. 0.1' }).positive({ error: 'dt_max must be > 0 (largest initial Δ); the paper uses 0.1' }).default(0.1),
  /** Initial Δ values are floored here before the inverse softplus. */
  dt_init_floor: z.number({ error: 'dt_init_floor must be a number, e.g. 0.0001' }).positive({ error: 'dt_init_floor must be > 0; the reference uses 0.0001' }).default(1e-4),
  /** Bias on the depthwise convolution (reference: true). */
  conv_bias: z.boolean({ error: 'conv_bias must be true or false' }).default(true),
  /** Biases on in_proj / out_proj (reference: false). */
  bias: z.boolean({ error: 'bias must be true or false' }).default(false),
});

export type MambaOptions = z.output<typeof mambaOptions>;

/** Cross-field checks zod cannot express per field. */
export function checkMambaOptions(opts: MambaOptions, path: string): void {
  if (opts.dt_min >= opts.dt_max) {
    throw new ConfigError(`${path}.dt_min`, `dt_min (${opts.dt_min}) must be smaller than dt_max (${opts.dt_max}); the paper uses dt_min 0.001, dt_max 0.1`);
  }
}

export function resolveDtRank(opts: MambaOptions, dModel: number): number {
  return opts.dt_rank === 'auto' ? Math.ceil(dModel / 16) : opts.dt_rank;
}
