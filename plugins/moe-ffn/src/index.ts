/**
 * @weft/moe-ffn: routed mixture-of-experts feed-forward layers — Switch Transformer top-1 with
 * expert capacity (Fedus et al. 2021, arXiv:2101.03961) and Mixtral-style top-k.
 *
 * Provides the feedforward kind "moe"; the layer lives in ./moe-ffn.ts, the routing in
 * ./router.ts and the auxiliary losses in ./losses.ts.
 */
import { definePlugin, feedforward, type SlotCapabilities } from '@weft/core';
import { MoEFeedForward } from './moe-ffn.js';
import { MoeOptions } from './options.js';
import { VERSION } from './version.js';

export { MoEFeedForward, type RouterOutput } from './moe-ffn.js';
export { ExpertBank, type ExpertActivation } from './expert.js';
export { MoeOptions } from './options.js';
export { routeTokens, expertCapacity, expertCounts, type Routing } from './router.js';
export { loadBalancingLoss, routerZLoss } from './losses.js';

export const moeCapabilities: SlotCapabilities['feedforward'] = { auxLoss: true };

export default definePlugin({
  name: '@weft/moe-ffn',
  version: VERSION,
  paper: { title: 'Switch Transformers: Scaling to Trillion Parameter Models with Simple and Efficient Sparsity', arxiv: '2101.03961', year: 2021 },
  papers: [{ title: 'Mixtral of Experts', arxiv: '2401.04088', year: 2024 }],
  provides: [
    feedforward('moe', {
      description: 'Routed mixture of experts: top-k of E expert FFNs per token (Switch top-1 with capacity, or Mixtral top-k), with load-balancing and router z-losses.',
      options: MoeOptions,
      capabilities: moeCapabilities,
      create: (options, ctx) => MoEFeedForward.fromDims(options, ctx.dims, ctx.rng),
    }),
  ],
});
