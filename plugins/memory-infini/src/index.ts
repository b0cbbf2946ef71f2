/**
 * @weft/memory-infini: Infini-attention (Munkhdalai, Faruqui, Gopal, 2024) arXiv:2404.07143 —
 * local causal attention plus a compressive linear-attention memory carried across segments,
 * as the mixer kind "infini".
 *
 * ```ts
 * const model = buildModel(createRegistry().use(standard, infini), {
 *   vocab: 64, dModel: 32, layers: 2, segmentLength: 16,
 *   mixer: { kind: 'infini', update: 'delta' },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, z, type MixerCapabilities } from '@weft/core';
import { InfiniAttention } from './infini.js';
import { VERSION } from './version.js';

export { InfiniAttention, InfiniMemory, memoryRetrieval, memoryUpdate, sigma, INFINI_EPSILON, type InfiniConfig } from './infini.js';
export { VERSION } from './version.js';

export const PAPER = {
  title: 'Leave No Context Behind: Efficient Infinite Context Transformers with Infini-attention',
  arxiv: '2404.07143',
  year: 2024,
  url: 'https://arxiv.org/abs/2404.07143',
};

const UPDATE_HINT = "update is the memory update rule: 'linear' (M += σ(K)ᵀV, eq. 4) or 'delta' (M += σ(K)ᵀ(V − retrieved), eq. 5)";

export const InfiniOptions = z.object({
  update: z.enum(['linear', 'delta'], { message: UPDATE_HINT }).default('linear'),
});
export type InfiniOptions = z.output<typeof InfiniOptions>;

/** Causal only; no incremental decoding (the memory is updated per segment); no packing or padding masks. */
export const infiniCapabilities: MixerCapabilities = { causal: true, bidirectional: false, decode: false, segments: false, padding: false };

export default definePlugin({
  name: '@weft/memory-infini',
  version: VERSION,
  paper: PAPER,
  description: 'Infini-attention: causal softmax attention in the segment plus a compressive memory (σ = ELU+1 linear attention) of earlier segments, mixed by a learned per-head gate.',
  provides: [
    mixer('infini', {
      description: 'Infini-attention: A = sigmoid(β)·σ(Q)M/(σ(Q)z) + (1 − sigmoid(β))·softmax(QKᵀ/√d)V; M, z updated after each segment (linear or delta rule).',
      options: InfiniOptions,
      capabilities: infiniCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "infini" is causal (its memory holds only earlier segments), but this model is bidirectional. Use it in a causal-lm model.`);
        }
      },
      create: (opts, ctx) => new InfiniAttention({ update: opts.update }, ctx.dims, ctx.rng),
    }),
  ],
});
