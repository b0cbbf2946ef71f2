/**
 * @weft/attn-longformer — Longformer attention (Beltagy et al. 2020, arXiv 2004.05150):
 * sliding window, per-head dilation and symmetric global tokens, computed block by block in
 * O(L·(w + |G|)) memory.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import longformer from '@weft/attn-longformer';
 * const model = buildModel(createRegistry().use(standard, longformer), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'longformer', window: 32, globalTokens: [0] },
 * });
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { checkLongformerOptions, longformerCapabilities, LongformerAttention, LongformerOptions } from './longformer.js';
import { VERSION } from './version.js';

export { checkLongformerOptions, longformerCapabilities, longformerPlans, LongformerAttention, LongformerOptions } from './longformer.js';

export { VERSION } from './version.js';

export const LONGFORMER_PAPER = {
  title: 'Longformer: The Long-Document Transformer',
  arxiv: '2004.05150',
  year: 2020,
  url: 'https://arxiv.org/abs/2004.05150',
};

export default definePlugin({
  name: '@weft/attn-longformer',
  version: VERSION,
  paper: LONGFORMER_PAPER,
  description: 'Longformer attention: sliding window (one-sided w), per-head dilation, symmetric global tokens; O(L·w) memory.',
  provides: [
    attention('longformer', {
      description: 'Longformer sliding-window + global attention (one-sided window w, optional per-head dilation), block-sparse: no L×L tensor.',
      options: LongformerOptions,
      capabilities: longformerCapabilities,
      create: (options, ctx) => {
        checkLongformerOptions(options, ctx.dims.heads, ctx.path);
        return new LongformerAttention(options);
      },
    }),
  ],
});
