/**
 * @weft/attn-longnet — LongNet dilated attention (Ding et al. 2023, arXiv 2307.02486): a mixture
 * of (segment length w, dilation r) configurations with head-wise offsets, merged by the softmax
 * of their logsumexps; O(Σ L·w/r²) memory, no L×L tensor.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import longnet from '@weft/attn-longnet';
 * const model = buildModel(createRegistry().use(standard, longnet), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'longnet', segmentLengths: [64, 128, 256], dilations: [1, 2, 4] },
 * });
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { checkLongnetOptions, longnetCapabilities, LongnetAttention, LongnetOptions } from './longnet.js';
import { VERSION } from './version.js';

export { checkLongnetOptions, dilatedRows, headOffset, longnetCapabilities, LongnetAttention, LongnetOptions } from './longnet.js';

export { VERSION } from './version.js';

export const LONGNET_PAPER = {
  title: 'LongNet: Scaling Transformers to 1,000,000,000 Tokens',
  arxiv: '2307.02486',
  year: 2023,
  url: 'https://arxiv.org/abs/2307.02486',
};

export default definePlugin({
  name: '@weft/attn-longnet',
  version: VERSION,
  paper: LONGNET_PAPER,
  description: 'LongNet dilated attention: (segment length, dilation) configurations with head-wise offsets, merged by their logsumexps.',
  provides: [
    attention('longnet', {
      description: 'LongNet dilated attention (segmentLengths w_i, dilations r_i, head offsets), outputs merged with softmax(lse) weights; causal or bidirectional; no L×L tensor.',
      options: LongnetOptions,
      capabilities: longnetCapabilities,
      create: (options, ctx) => {
        checkLongnetOptions(options, ctx.path);
        return new LongnetAttention(options);
      },
    }),
  ],
});
