/**
 * @weft/attn-sparse-transformer — factorized sparse attention from "Generating Long Sequences
 * with Sparse Transformers" (Child et al. 2019, arXiv 1904.10509): strided and fixed patterns,
 * split across heads or interleaved across layers, block-sparse in O(n√n).
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import sparse from '@weft/attn-sparse-transformer';
 * const model = buildModel(createRegistry().use(standard, sparse), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'sparse-transformer', pattern: 'fixed', stride: 16, c: 4 },
 * });
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { checkSparseTransformerOptions, sparseTransformerCapabilities, SparseTransformerAttention, SparseTransformerOptions } from './sparse-transformer.js';
import { VERSION } from './version.js';

export { checkSparseTransformerOptions, sparseTransformerCapabilities, sparseTransformerPlan, SparseTransformerAttention, SparseTransformerOptions } from './sparse-transformer.js';

export { VERSION } from './version.js';

export const SPARSE_TRANSFORMER_PAPER = {
  title: 'Generating Long Sequences with Sparse Transformers',
  arxiv: '1904.10509',
  year: 2019,
  url: 'https://arxiv.org/abs/1904.10509',
};

export default definePlugin({
  name: '@weft/attn-sparse-transformer',
  version: VERSION,
  paper: SPARSE_TRANSFORMER_PAPER,
  description: 'Sparse Transformer factorized attention (strided / fixed), causal, block-sparse in O(n√n).',
  provides: [
    attention('sparse-transformer', {
      description: 'Sparse Transformer factorized causal attention: strided or fixed pattern, split across heads or interleaved across layers.',
      options: SparseTransformerOptions,
      capabilities: sparseTransformerCapabilities,
      check: (options, env) => checkSparseTransformerOptions(options, undefined, env.path),
      create: (options, ctx) => {
        checkSparseTransformerOptions(options, ctx.dims.heads, ctx.path);
        return new SparseTransformerAttention(options);
      },
    }),
  ],
});
