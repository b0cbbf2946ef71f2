/**
 * @weft/mixer-deltanet — DeltaNet (Yang et al., "Parallelizing Linear Transformers with the
 * Delta Rule over Sequence Length", arXiv 2406.06484): linear attention whose memory is updated
 * by the delta rule, trained chunkwise in parallel (WY/UT form) and decoded recurrently.
 */
import { definePlugin, IncompatibleError, mixer } from '@weft/core';
import { deltaNetCapabilities, DeltaNetMixer } from './deltanet.js';
import { DeltaNetOptions } from './options.js';
import { VERSION } from './version.js';

export { DeltaNetOptions } from './options.js';
export { deltaNetCapabilities, DeltaNetMixer, DeltaNetState } from './deltanet.js';
export { deltaRuleChunked, deltaRuleRecurrent, unitLowerInverse } from './delta-rule.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Parallelizing Linear Transformers with the Delta Rule over Sequence Length', arxiv: '2406.06484', year: 2024, url: 'https://arxiv.org/abs/2406.06484' };

export default definePlugin({
  name: '@weft/mixer-deltanet',
  version: VERSION,
  paper: PAPER,
  description: 'DeltaNet: delta-rule linear attention, chunkwise-parallel (WY/UT) training, O(1)-memory recurrent decoding.',
  provides: [
    mixer('deltanet', {
      description: 'DeltaNet: S_t = S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ, o_t = S_t q_t; L2-normalised q, k; β = σ(x W_β).',
      options: DeltaNetOptions,
      capabilities: deltaNetCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(
            `${env.path}: mixer "deltanet" is a causal recurrence and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`,
          );
        }
      },
      create: (opts, ctx) => new DeltaNetMixer(opts, ctx.dims, ctx.rng),
    }),
  ],
});
