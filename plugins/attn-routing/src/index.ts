/**
 * @weft/attn-routing — Routing Transformer attention (Roy et al. 2020, arXiv 2003.05997):
 * online k-means routing of shared, L2-normalised queries/keys into balanced clusters, mixed
 * with local sliding-window heads, computed block-sparse (no L×L tensor).
 */
import { attention, definePlugin } from '@weft/core';
import { resolveRoutingHeads, routingCapabilities, RoutingAttention, RoutingOptions } from './routing.js';
import { VERSION } from './version.js';

export {
  balancedAssign,
  emaCentroids,
  localPlan,
  resolveRoutingHeads,
  routingCapabilities,
  routingPlan,
  RoutingAttention,
  RoutingOptions,
} from './routing.js';
export { VERSION } from './version.js';

export const ROUTING_PAPER = {
  title: 'Efficient Content-Based Sparse Attention with Routing Transformers',
  arxiv: '2003.05997',
  year: 2020,
  url: 'https://arxiv.org/abs/2003.05997',
};

export default definePlugin({
  name: '@weft/attn-routing',
  version: VERSION,
  paper: ROUTING_PAPER,
  description: 'Routing attention: online k-means clusters of shared L2-normalised q/k, balanced blocks, plus local heads; block-sparse.',
  provides: [
    attention('routing', {
      description: 'Routing Transformer attention: balanced k-means clusters (EMA centroids) on half the heads, sliding window on the rest; no L×L tensor.',
      options: RoutingOptions,
      capabilities: routingCapabilities,
      create: (options, ctx) => {
        resolveRoutingHeads(options, ctx.dims.heads, ctx.path);
        return new RoutingAttention(options, ctx.dims.heads, ctx.dims.headDim, ctx.rng);
      },
    }),
  ],
});
