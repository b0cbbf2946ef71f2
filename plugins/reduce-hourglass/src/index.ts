/**
 * @weft/reduce-hourglass: Hierarchical Transformers Are More Efficient Language Models (2021) arXiv:2110.13711.
 *
 * Provides the reducer kind "hourglass"; the technique lives in ./hourglass.ts.
 */
import { reducer, definePlugin } from '@weft/core';
import { hourglassCapabilities, HourglassReducer, HourglassOptions } from './hourglass.js';
import { VERSION } from './version.js';

export { hourglassCapabilities, HourglassReducer, HourglassOptions } from './hourglass.js';

export default definePlugin({
  name: '@weft/reduce-hourglass',
  version: VERSION,
  paper: { title: 'Hierarchical Transformers Are More Efficient Language Models', arxiv: '2110.13711', year: 2021 },
  provides: [
    reducer('hourglass', {
      description: "Hourglass (2021): shift right by k−1, shorten by linear pooling, run the middle layers on L/k tokens, upsample linearly with a residual; causal.",
      options: HourglassOptions,
      capabilities: hourglassCapabilities,
      create: (options, ctx) => new HourglassReducer(options, ctx.dims, ctx.rng),
    }),
  ],
});
