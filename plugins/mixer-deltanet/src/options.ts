/** Options of the 'deltanet' mixer (names follow the paper and fla's DeltaNet layer). */
import { z } from '@weft/core';

export const DeltaNetOptions = z.object({
  /** Tokens per chunk of the chunkwise-parallel (WY/UT) training form (§3.2); any size gives the same outputs. */
  chunkSize: z
    .number({ error: 'chunkSize must be a whole number of tokens per chunk, e.g. 64' })
    .int({ error: 'chunkSize must be a whole number of tokens per chunk, e.g. 64' })
    .positive({ error: 'chunkSize must be >= 1 (tokens per chunk); the paper uses 64' })
    .default(64),
  /** Feature map on q and k before the L2 normalisation (fla's qk_activation; the paper uses SiLU). */
  qkActivation: z.enum(['silu', 'identity'], { error: 'qkActivation must be "silu" or "identity"' }).default('silu'),
  /** Learn the writing strength β_t = σ(x_t W_β) per head; false fixes β = 1. */
  useBeta: z.boolean({ error: 'useBeta must be true or false (false fixes β = 1)' }).default(true),
});
export type DeltaNetOptions = z.output<typeof DeltaNetOptions>;
