/**
 * @weft/attn-linear — linear attention with the elu+1 feature map (Katharopoulos et al. 2020,
 * "Transformers are RNNs"): O(L) training through a chunkwise parallel form and O(1)-memory
 * decoding from the kernel's own recurrent state (S, z) (core's initState/attendStep contract).
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import linear from '@weft/attn-linear';
 * const model = buildModel(createRegistry().use(standard, linear), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'none' },
 *   attention: { kind: 'linear' },
 * });
 * ```
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { LINEAR_CAPABILITIES, LinearAttention } from './linear-attention.js';
import { VERSION } from './version.js';

export { LinearAttention, LINEAR_CAPABILITIES, phi, causalLinear, bidirectionalLinear, repeatHeads, type LinearAttentionOptions } from './linear-attention.js';
export { LinearAttentionState, linearStateBytes } from './linear-state.js';
export { VERSION } from './version.js';

export const LINEAR_PAPER = {
  title: 'Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention',
  arxiv: '2006.16236',
  year: 2020,
  url: 'https://arxiv.org/abs/2006.16236',
};

export const linearOptions = z.object({
  /** Chunk length C of the causal parallel form (1 = the RNN, ≥ L = the masked quadratic form). */
  chunkSize: z
    .number({ message: 'chunkSize must be a positive integer such as 64' })
    .int({ message: 'chunkSize must be a whole number of tokens (e.g. 64)' })
    .positive({ message: 'chunkSize must be at least 1 (1 = token-by-token RNN, 64 is a good default)' })
    .default(64),
  /** ε added to the denominator φ(q)ᵀz (fast-transformers: 1e-6). */
  eps: z.number().positive({ message: 'eps must be > 0 (the denominator can be ~0 for short prefixes); use 1e-6' }).default(1e-6),
});

export default definePlugin({
  name: '@weft/attn-linear',
  version: VERSION,
  paper: LINEAR_PAPER,
  description: 'Linear attention φ(q)ᵀΣφ(k)vᵀ / φ(q)ᵀΣφ(k) with φ = elu+1: chunked causal training, bidirectional form, constant-memory decoding.',
  provides: [
    attention('linear', {
      description: 'Linear attention (elu+1 feature map, no 1/sqrt(d), eps 1e-6): chunkwise causal form, bidirectional form, recurrent decoding from (S, z).',
      options: linearOptions,
      capabilities: LINEAR_CAPABILITIES,
      check: (_opts, env) => {
        if (!env.positional) return;
        const p = env.registry.capabilities('positional', env.positional);
        if (p.logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but linear attention has no logits to scale (φ(q)ᵀφ(k) replaces exp(q·k)). ` +
              'Use a rotary or additive encoding (rope, sinusoidal, none), or a softmax kernel (dense, flash).',
          );
        }
      },
      create: (opts) => new LinearAttention(opts),
    }),
  ],
});
