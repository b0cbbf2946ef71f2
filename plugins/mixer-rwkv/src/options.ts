/** Options of the 'rwkv' mixer (RWKV-4 names where the reference code has them). */
import { z } from '@weft/core';

export const RwkvOptions = z.object({
  /** Channel-mix hidden width = ffnMult · dModel (RWKV-4: dim_ffn = 4 · n_embd). */
  ffnMult: z
    .number({ error: 'ffnMult must be a number (channel-mix hidden width = ffnMult · dModel), e.g. 4' })
    .positive({ error: 'ffnMult must be > 0 (channel-mix hidden width = ffnMult · dModel); use 4 for RWKV-4' })
    .default(4),
  /**
   * Run the channel-mix after the time-mix inside this mixer (the RWKV block). false gives the
   * time-mix alone, to pair with the model's ordinary feed-forward.
   */
  channelMix: z.boolean({ error: 'channelMix must be true or false (false = time-mix only)' }).default(true),
});
export type RwkvOptions = z.output<typeof RwkvOptions>;
