/**
 * @weft/moe-switchhead: SwitchHead (Csordás et al. 2023, arXiv:2312.07987), attention with
 * σ-MoE value and output projections per head.
 *
 * Provides the heads kind "switchhead"; the technique lives in ./switchhead.ts.
 */
import { definePlugin, heads } from '@weft/core';
import { checkSwitchHeadDims, switchHeadCapabilities, SwitchHeadLayout, SwitchHeadOptions } from './switchhead.js';
import { VERSION } from './version.js';

export { checkSwitchHeadDims, switchHeadCapabilities, SwitchHeadLayout, SwitchHeadOptions, topKMask, type Side } from './switchhead.js';

export default definePlugin({
  name: '@weft/moe-switchhead',
  version: VERSION,
  paper: { title: 'SwitchHead: Accelerating Transformers with Mixture-of-Experts Attention', arxiv: '2312.07987', year: 2023 },
  provides: [
    heads('switchhead', {
      description: 'SwitchHead: dense q/k, σ-MoE value projection (experts chosen by the source token) and output projection (chosen by the destination token), topK of E experts per head.',
      options: SwitchHeadOptions,
      capabilities: switchHeadCapabilities,
      create: (options, ctx) => {
        checkSwitchHeadDims(ctx.dims, ctx.path);
        return new SwitchHeadLayout(ctx.dims, options, ctx.rng, 0.02 / Math.sqrt(2 * ctx.dims.layers));
      },
    }),
  ],
});
