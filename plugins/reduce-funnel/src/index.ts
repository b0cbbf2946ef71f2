/**
 * @weft/reduce-funnel: Funnel-Transformer (2020) arXiv:2006.03236.
 *
 * Provides the reducer kind "funnel"; the technique lives in ./funnel.ts.
 */
import { reducer, definePlugin } from '@weft/core';
import { funnelCapabilities, FunnelReducer, FunnelOptions } from './funnel.js';
import { VERSION } from './version.js';

export { funnelCapabilities, FunnelReducer, FunnelOptions } from './funnel.js';

export default definePlugin({
  name: '@weft/reduce-funnel',
  version: VERSION,
  paper: { title: 'Funnel-Transformer: Filtering out Sequential Redundancy for Efficient Language Processing', arxiv: '2006.03236', year: 2020 },
  provides: [
    reducer('funnel', {
      description: 'Funnel-Transformer: mean-pool the sequence by a stride for the middle layers, upsample by repetition plus the unpooled residual; bidirectional only.',
      options: FunnelOptions,
      capabilities: funnelCapabilities,
      create: (options) => new FunnelReducer(options),
    }),
  ],
});
