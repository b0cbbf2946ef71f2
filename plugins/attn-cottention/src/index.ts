/**
 * @weft/attn-cottention — Cottention (Mongaras, Dohm & Larson 2024, "Cottention: Linear
 * Transformers With Cosine Attention", arXiv 2409.15358): softmax-free cosine attention with a
 * learned per-head length normaliser, a chunked causal training form, a bidirectional form and
 * constant-memory RNN decoding through core's initState/attendStep contract.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import cottention from '@weft/attn-cottention';
 * const model = buildModel(createRegistry().use(standard, cottention), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'none' },
 *   attention: { kind: 'cottention' },
 * });
 * ```
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { COTTENTION_CAPABILITIES, CottentionAttention } from './cottention-attention.js';
import { VERSION } from './version.js';

export { CottentionAttention, COTTENTION_CAPABILITIES, M_INIT, type CottentionKernelOptions } from './cottention-attention.js';
export { bidirectionalCosine, causalCosine, causalScaledValues, cottention, l2normalize, repeatHeads, type CottentionFunctionalOptions } from './cosine-attention.js';
export { CottentionState, cottentionStateBytes } from './cottention-state.js';
export { VERSION } from './version.js';

export const COTTENTION_PAPER = {
  title: 'Cottention: Linear Transformers With Cosine Attention',
  arxiv: '2409.15358',
  year: 2024,
  url: 'https://arxiv.org/abs/2409.15358',
};

export const cottentionOptions = z.object({
  /** Chunk length C of the causal parallel form (1 = the RNN, ≥ L = the masked quadratic form). */
  chunkSize: z
    .number({ message: 'chunkSize must be a positive integer such as 64' })
    .int({ message: 'chunkSize must be a whole number of tokens (e.g. 64)' })
    .positive({ message: 'chunkSize must be at least 1 (1 = token-by-token RNN, 64 is a good default)' })
    .default(64),
});

export default definePlugin({
  name: '@weft/attn-cottention',
  version: VERSION,
  paper: COTTENTION_PAPER,
  description: 'Cottention: cosine attention N(Q)N(K)ᵀV / s^σ(m_h) — softmax-free, linear in L, RNN decoding.',
  provides: [
    attention('cottention', {
      description: 'Cottention: L2-normalised q, k, no softmax, no 1/sqrt(d); values divided by s^sigmoid(m_h) with a learned m_h per head; chunked causal form, bidirectional form, RNN decoding.',
      options: cottentionOptions,
      capabilities: COTTENTION_CAPABILITIES,
      check: (_opts, env) => {
        if (!env.positional) return;
        const p = env.registry.capabilities('positional', env.positional);
        if (p.logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but cottention has no softmax logits to scale (cosine similarities are used as they are). ` +
              'Use a rotary or additive encoding (rope, sinusoidal, none), or a softmax kernel (dense, flash).',
          );
        }
      },
      create: (opts, ctx) => new CottentionAttention({ chunkSize: opts.chunkSize }, ctx.dims.heads, ctx.rng),
    }),
  ],
});
