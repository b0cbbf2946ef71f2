/**
 * @weft/attn-latte — Latte (Dolga et al. 2024, "Latent Attention for Linear Time
 * Transformers", arXiv 2402.17512): tokens attend to L latent states, each a (causal)
 * softmax-weighted summary of the values; linear-time training, constant-memory decoding.
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { LATTE_CAPABILITIES, LatteAttention } from './latte.js';
import { VERSION } from './version.js';

export { LatteAttention, LATTE_CAPABILITIES, latteBidirectional, latteCausal, latteChunked } from './latte.js';
export { LatteState } from './latte-state.js';
export { VERSION } from './version.js';

export const LATTE_PAPER = {
  title: 'Latent Attention for Linear Time Transformers',
  arxiv: '2402.17512',
  year: 2024,
  url: 'https://arxiv.org/abs/2402.17512',
};

export const latteOptions = z.object({
  /** L, the number of latent states per head; leave out to use the head's q, k directly (L = head width). */
  latents: z
    .number({ message: 'latents must be a positive integer such as 64 (or leave it out for L = head width)' })
    .int({ message: 'latents must be a whole number of latent states (e.g. 64)' })
    .positive({ message: 'latents must be at least 1 (e.g. 64), or leave it out for L = head width' })
    .optional(),
  /** C, positions per chunk of the causal parallel form (1 = the exact recurrence; larger is faster). */
  chunkSize: z
    .number({ message: 'chunkSize must be a positive integer such as 64' })
    .int({ message: 'chunkSize must be a whole number of tokens (e.g. 64)' })
    .positive({ message: 'chunkSize must be at least 1 (1 = token-by-token recurrence, 64 is a good default)' })
    .default(64),
});

export default definePlugin({
  name: '@weft/attn-latte',
  version: VERSION,
  paper: LATTE_PAPER,
  description: 'Latte latent attention: out_t = Σ_l softmax_l(q_t) Σ_{s≤t} softmax_s(k_{s,l}) v_s; causal and bidirectional, constant-memory decoding.',
  provides: [
    attention('latte', {
      description: 'Latte (Dolga 2024): each token mixes L latent states, each a cumulative softmax-over-time summary of the values; parallel cumulative-sum training, recurrent decoding from (m, α, β).',
      options: latteOptions,
      capabilities: LATTE_CAPABILITIES,
      check: (_opts, env) => {
        if (env.positional && env.registry.capabilities('positional', env.positional).logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but latte attention has no token-to-token logits to scale. Use an additive or rotary encoding (sinusoidal, learned, rope, none).`,
          );
        }
      },
      create: (opts, ctx) => new LatteAttention(ctx.dims.heads, ctx.dims.headDim, opts.latents, ctx.rng, opts.chunkSize),
    }),
  ],
});
