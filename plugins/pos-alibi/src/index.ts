/**
 * @weft/pos-alibi — ALiBi (Press et al. 2022): a fixed, head-specific linear penalty
 * -m_h |i - j| on attention logits instead of position embeddings.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import alibi from '@weft/pos-alibi';
 * const model = buildModel(createRegistry().use(standard).use(alibi), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'alibi' },
 * });
 * ```
 */
import { definePlugin, positional, z } from '@weft/core';
import { AlibiBias } from './alibi.js';
import { VERSION } from './version.js';

export { AlibiBias } from './alibi.js';
export { alibiSlopes } from './slopes.js';
export { VERSION } from './version.js';

export const ALIBI_PAPER = {
  title: 'Train Short, Test Long: Attention with Linear Biases Enables Input Length Extrapolation',
  arxiv: '2108.12409',
  year: 2022,
  url: 'https://arxiv.org/abs/2108.12409',
};

export default definePlugin({
  name: '@weft/pos-alibi',
  version: VERSION,
  paper: ALIBI_PAPER,
  description: 'ALiBi: -m_h|i-j| added to attention logits, geometric head slopes, no learned parameters.',
  provides: [
    positional('alibi', {
      description: 'Attention with Linear Biases: fixed per-head slopes times key-query distance, added to the logits (no input PE).',
      options: z.object({}),
      capabilities: { embed: false, rotate: false, bias: true, perLayer: false },
      create: (_opts, ctx) => new AlibiBias(ctx.dims.heads),
    }),
  ],
});
