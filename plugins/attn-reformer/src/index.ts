/**
 * @weft/attn-reformer — Reformer LSH attention (Kitaev et al. 2020, arXiv 2001.04451): shared-QK
 * attention within angular-LSH buckets (sorted, chunked, each chunk attending to itself and the
 * previous one), multi-round with logsumexp merging; plus the reversible residual block.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import reformer from '@weft/attn-reformer';
 * const model = buildModel(createRegistry().use(standard, reformer), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'reformer', numHashes: 2, numBuckets: 8, bucketSize: 32 },
 * });
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { reformerCapabilities, ReformerAttention, ReformerOptions } from './reformer.js';
import { VERSION } from './version.js';

export { checkRotations, lshBuckets, lshRotations, reformerCapabilities, ReformerAttention, ReformerOptions, SELF_LOGIT } from './reformer.js';
export { ReversibleBlock, type Sublayer } from './reversible.js';
export { VERSION } from './version.js';

export const REFORMER_PAPER = {
  title: 'Reformer: The Efficient Transformer',
  arxiv: '2001.04451',
  year: 2020,
  url: 'https://arxiv.org/abs/2001.04451',
};

export default definePlugin({
  name: '@weft/attn-reformer',
  version: VERSION,
  paper: REFORMER_PAPER,
  description: 'Reformer LSH attention (shared QK, angular LSH buckets, chunked, multi-round lse merge) and the reversible residual block.',
  provides: [
    attention('reformer', {
      description: 'Reformer LSH attention: shared-QK (keys = normalised queries; the k projection is unused), sorted buckets, chunks attend to themselves + the previous chunk, rounds merged by logsumexp.',
      options: ReformerOptions,
      capabilities: reformerCapabilities,
      create: (options) => new ReformerAttention(options),
    }),
  ],
});
