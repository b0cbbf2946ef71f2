/**
 * @weft/mixer-hyena — Hyena (Poli et al., 2023): implicit long-convolution filters with
 * multiplicative gating, a drop-in attention replacement.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import hyena from '@weft/mixer-hyena';
 * const model = buildModel(createRegistry().use(standard).use(hyena), {
 *   vocab: 256, dModel: 64, layers: 2, mixer: { kind: 'hyena', l_max: 256 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { Hyena } from './hyena.js';
import { checkHyenaOptions, hyenaOptions } from './options.js';
import { VERSION } from './version.js';

export { Hyena, HyenaHistory } from './hyena.js';
export { HyenaFilter, positionalFeatures, decayRates } from './filter.js';
export { hyenaOptions, checkHyenaOptions, type HyenaOptions } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Hyena Hierarchy: Towards Larger Convolutional Language Models', arxiv: '2302.10866', year: 2023, url: 'https://arxiv.org/abs/2302.10866' };

/** Causal; decodes by keeping the whole input history (exact recomputation); no segments/padding. */
export const HYENA_CAPABILITIES: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/mixer-hyena',
  version: VERSION,
  paper: PAPER,
  description: 'Hyena operator: short conv, implicit decaying long filters, gated recurrence of order N.',
  provides: [
    mixer('hyena', {
      description: 'Hyena: v <- h ∗ (v ⊙ x_i) + bias (v ⊙ x_i) for each gate, out_proj(v ⊙ x_0).',
      options: hyenaOptions,
      capabilities: HYENA_CAPABILITIES,
      check: (opts, env) => {
        checkHyenaOptions(opts, env.path);
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "hyena" uses causal filters and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`);
        }
      },
      create: (opts, ctx) => {
        checkHyenaOptions(opts, ctx.path);
        return new Hyena(ctx.dims.dModel, opts, ctx.rng);
      },
    }),
  ],
});
