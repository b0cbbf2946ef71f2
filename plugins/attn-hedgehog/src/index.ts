/**
 * @weft/attn-hedgehog — Hedgehog (Zhang et al. 2024, "The Hedgehog & the Porcupine",
 * arXiv 2402.04347): linear attention with a trainable feature map φ(x) = [exp(Wx+b), exp(−Wx−b)],
 * W initialised to the identity, distilled to mimic softmax attention weights.
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { HEDGEHOG_CAPABILITIES, HedgehogAttention } from './hedgehog.js';
import { VERSION } from './version.js';

export { HedgehogAttention, HEDGEHOG_CAPABILITIES, attentionKL, featureMap, linearAttend } from './hedgehog.js';
export { causalChunked } from './chunked.js';
export { HedgehogState, hedgehogStateBytes } from './hedgehog-state.js';
export { distillationLoss, featureMapParameters, hedgehogDistillation, hedgehogKernels } from './distill.js';
export { VERSION } from './version.js';

export const HEDGEHOG_PAPER = {
  title: 'The Hedgehog & the Porcupine: Expressive Linear Attentions with Softmax Mimicry',
  arxiv: '2402.04347',
  year: 2024,
  url: 'https://arxiv.org/abs/2402.04347',
};

export const hedgehogOptions = z.object({
  /** C, positions per chunk of the causal parallel form (1 = token-by-token recurrence, ≥ N = masked quadratic form). */
  chunkSize: z
    .number({ message: 'chunkSize must be a positive integer such as 64' })
    .int({ message: 'chunkSize must be a whole number of tokens (e.g. 64)' })
    .positive({ message: 'chunkSize must be at least 1 (1 = token-by-token recurrence, 64 is a good default)' })
    .default(64),
});

export default definePlugin({
  name: '@weft/attn-hedgehog',
  version: VERSION,
  paper: HEDGEHOG_PAPER,
  description: 'Hedgehog linear attention: trainable φ(x) = [exp(Wx+b), exp(−Wx−b)] (W = I at init), distillable to softmax attention weights; chunked causal training, bidirectional form, constant-memory decoding.',
  provides: [
    attention('hedgehog', {
      description: 'Hedgehog (Zhang 2024): linear attention with a per-head trainable feature map [exp(Wx+b), exp(−Wx−b)], W initialised to identity; distillationLoss() trains it to mimic softmax weights; chunked causal form, recurrent decoding from S = Σ φ(k)[v, 1]ᵀ.',
      options: hedgehogOptions,
      capabilities: HEDGEHOG_CAPABILITIES,
      check: (_opts, env) => {
        if (env.positional && env.registry.capabilities('positional', env.positional).logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but hedgehog attention has no logits to scale (the feature map replaces exp(q·k)). Use an additive or rotary encoding (sinusoidal, learned, rope, none).`,
          );
        }
      },
      create: (opts, ctx) => new HedgehogAttention(ctx.dims.heads, ctx.dims.headDim, ctx.rng, opts.chunkSize),
    }),
  ],
});
