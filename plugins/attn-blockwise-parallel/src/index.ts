/**
 * @weft/attn-blockwise-parallel — Blockwise Parallel Transformer (Liu & Abbeel 2023, arXiv
 * 2305.19370): one transformer block computed query block by query block — online-softmax
 * attention over key/value blocks, then the feed-forward on that block — so neither the L×L
 * attention matrix nor the full FFN activations are materialised in the forward pass.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import bpt from '@weft/attn-blockwise-parallel';
 * const model = buildModel(createRegistry().use(standard, bpt), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   mixer: { kind: 'blockwise-parallel', queryChunkSize: 64, keyChunkSize: 64 },
 *   feedforward: null,
 *   layout: [{ norm: 'identity' }, { norm: 'identity' }],
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, norm, z } from '@weft/core';
import { blockwiseParallelCapabilities, BlockwiseParallelMixer, BlockwiseParallelOptions } from './blockwise-parallel.js';
import { IdentityNorm } from './identity-norm.js';
import { VERSION } from './version.js';

export { blockwiseParallelCapabilities, BlockwiseParallelMixer, BlockwiseParallelOptions } from './blockwise-parallel.js';
export { IdentityNorm } from './identity-norm.js';
export { VERSION } from './version.js';

export const BPT_PAPER = {
  title: 'Blockwise Parallel Transformer for Large Context Models',
  arxiv: '2305.19370',
  year: 2023,
  url: 'https://arxiv.org/abs/2305.19370',
};

export default definePlugin({
  name: '@weft/attn-blockwise-parallel',
  version: VERSION,
  paper: BPT_PAPER,
  description: 'Blockwise Parallel Transformer: attention and feed-forward fused per query block (online softmax over key/value blocks).',
  provides: [
    mixer('blockwise-parallel', {
      description: 'A whole pre-norm transformer block (LN1, q/k/v/o, LN2, MLP) computed per query block with online softmax; use with feedforward: null and norm: identity.',
      options: BlockwiseParallelOptions,
      capabilities: () => blockwiseParallelCapabilities,
      check: (_opts, env) => {
        const kind = env.positional?.kind;
        if (kind && !['sinusoidal', 'learned', 'none'].includes(kind)) {
          throw new IncompatibleError(
            `${env.path}: mixer "blockwise-parallel" applies no positional encoding inside attention, but this layer uses positional "${kind}"; use positional 'sinusoidal' or 'learned' (added to the embeddings)`,
          );
        }
      },
      create: (options, ctx) => new BlockwiseParallelMixer(options, ctx.dims, ctx.rng),
    }),
    norm('identity', {
      description: 'Pass-through norm (x ↦ x), for layers whose mixer carries its own norms (blockwise-parallel).',
      options: z.object({}),
      create: () => new IdentityNorm(),
    }),
  ],
});
