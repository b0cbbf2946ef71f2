/**
 * @weft/moe-colt5: CoLT5's conditional feed-forward (Ainslie et al. 2023, arXiv:2303.09752):
 * a light FFN for every token plus a heavy FFN for the top-k routed tokens.
 *
 * Provides the feedforward kind "colt5"; the layer lives in ./colt5.ts and the soft top-k
 * routing weights in ./soft-topk.ts.
 */
import { definePlugin, feedforward } from '@weft/core';
import { checkColt5, Colt5FeedForward, Colt5Options } from './colt5.js';
import { VERSION } from './version.js';

export { checkColt5, Colt5FeedForward, Colt5Options } from './colt5.js';
export { softTopK } from './soft-topk.js';

export default definePlugin({
  name: '@weft/moe-colt5',
  version: VERSION,
  paper: { title: 'CoLT5: Faster Long-Range Transformers with Conditional Computation', arxiv: '2303.09752', year: 2023 },
  provides: [
    feedforward('colt5', {
      description: 'CoLT5 conditional FFN: a light FFN on every token plus a heavy FFN on the top-k routed tokens of each sequence (soft top-k weights). Bidirectional only.',
      options: Colt5Options,
      capabilities: { auxLoss: false },
      check: checkColt5,
      create: (options, ctx) => Colt5FeedForward.fromDims(options, ctx.dims, ctx.rng),
    }),
  ],
});
