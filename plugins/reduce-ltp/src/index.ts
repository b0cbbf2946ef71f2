/**
 * @weft/reduce-ltp: Learned Token Pruning for Transformers (2022) arXiv:2107.00910.
 *
 * Provides the reducer kind "ltp"; the technique lives in ./ltp.ts.
 */
import { reducer, definePlugin } from '@weft/core';
import { ltpCapabilities, LtpReducer, LtpOptions } from './ltp.js';
import { VERSION } from './version.js';

export { ltpCapabilities, LtpReducer, LtpOptions, ltpImportance, ltpSoftMask, ltpHardKeep } from './ltp.js';

export default definePlugin({
  name: '@weft/reduce-ltp',
  version: VERSION,
  paper: { title: 'Learned Token Pruning for Transformers', arxiv: '2107.00910', year: 2022 },
  provides: [
    reducer('ltp', {
      description: 'Learned Token Pruning: drop tokens whose attention-received importance is below a learned per-layer threshold (soft sigmoid mask in training, hard removal at inference); bidirectional only.',
      options: LtpOptions,
      capabilities: ltpCapabilities,
      create: (options, ctx) => new LtpReducer(options, ctx.dims, ctx.rng),
    }),
  ],
});
