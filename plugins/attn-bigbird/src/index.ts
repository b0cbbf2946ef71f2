/**
 * @weft/attn-bigbird — Big Bird attention (Zaheer et al. 2020, arXiv 2007.14062): the blocked
 * BIGBIRD-ITC pattern (global first/last blocks, a 3-block sliding window, r random blocks per
 * head), computed block by block with no L×L tensor.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import bigbird from '@weft/attn-bigbird';
 * const model = buildModel(createRegistry().use(standard, bigbird), {
 *   task: 'classifier', classes: 2, vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'bigbird', blockSize: 64, numRandomBlocks: 3 },
 * });
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { bigbirdCapabilities, BigbirdAttention, BigbirdOptions } from './bigbird.js';
import { VERSION } from './version.js';

export {
  bigbirdCapabilities,
  bigbirdIsDense,
  bigbirdPlans,
  bigbirdRandomTable,
  BigbirdAttention,
  BigbirdOptions,
  excludedBlocks,
  type RandomTable,
} from './bigbird.js';

export { VERSION } from './version.js';

export const BIGBIRD_PAPER = {
  title: 'Big Bird: Transformers for Longer Sequences',
  arxiv: '2007.14062',
  year: 2020,
  url: 'https://arxiv.org/abs/2007.14062',
};

export default definePlugin({
  name: '@weft/attn-bigbird',
  version: VERSION,
  paper: BIGBIRD_PAPER,
  description: 'Big Bird (ITC) attention: global first/last blocks, 3-block sliding window, r random blocks per head; block-sparse.',
  provides: [
    attention('bigbird', {
      description: 'Big Bird ITC block-sparse attention (blockSize b, numRandomBlocks r, seeded per-layer per-head random tables); bidirectional; no L×L tensor.',
      options: BigbirdOptions,
      capabilities: bigbirdCapabilities,
      create: (options) => new BigbirdAttention(options),
    }),
  ],
});
