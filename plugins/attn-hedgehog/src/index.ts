/**
 * @weft/attn-hedgehog — Hedgehog (Zhang et al. 2024, "The Hedgehog & the Porcupine",
 * arXiv 2402.04347): linear attention with a trainable feature map φ(x) = [exp(Wx+b), exp(−Wx−b)],
 * W initialised to the identity, distilled to mimic softmax attention weights.
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { HEDGEHOG_CAPABILITIES, HedgehogAttention } from './hedgehog.js';
import { VERSION } from './version.js';

export { HedgehogAttention, HEDGEHOG_CAPABILITIES, attentionKL, featureMap, linearAttend } from './hedgehog.js';
export { distillationLoss, featureMapParameters, hedgehogDistillation, hedgehogKernels } from './distill.js';
export { VERSION } from './version.js';

export const HEDGEHOG_PAPER = {
  title: 'The Hedgehog & the Porcupine: Expressive Linear Attentions with Softmax Mimicry',
  arxiv: '2402.04347',
  year: 2024,
  url: 'https://arxiv.org/abs/2402.04347',
};

export default definePlugin({
  name: '@weft/attn-hedgehog',
  version: VERSION,
  paper: HEDGEHOG_PAPER,
  description: 'Hedgehog linear attention: trainable φ(x) = [exp(Wx+b), exp(−Wx−b)] (W = I at init), distillable to softmax attention weights; causal and bidirectional.',
  provides: [
    attention('hedgehog', {
      description: 'Hedgehog (Zhang 2024): linear attention with a per-head trainable feature map [exp(Wx+b), exp(−Wx−b)], W initialised to identity; distillationLoss() trains it to mimic softmax weights.',
      options: z.object({}),
      capabilities: HEDGEHOG_CAPABILITIES,
      check: (_opts, env) => {
        if (env.positional && env.registry.capabilities('positional', env.positional).logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but hedgehog attention has no logits to scale (the feature map replaces exp(q·k)). Use an additive or rotary encoding (sinusoidal, learned, rope, none).`,
          );
        }
      },
      create: (_opts, ctx) => new HedgehogAttention(ctx.dims.heads, ctx.dims.headDim, ctx.rng),
    }),
  ],
});
