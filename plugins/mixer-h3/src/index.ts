/**
 * @weft/mixer-h3 — H3 (Fu et al., 2022): shift SSM on k, diagonal SSM on k ⊙ v, gated by q.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import h3 from '@weft/mixer-h3';
 * const model = buildModel(createRegistry().use(standard).use(h3), {
 *   vocab: 256, dModel: 64, layers: 2, mixer: { kind: 'h3', d_state: 64 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { checkS4Options } from '@weft/mixer-s4';
import { H3 } from './h3.js';
import { h3Options } from './options.js';
import { VERSION } from './version.js';

export { H3, H3State } from './h3.js';
export { h3Options, type H3Options } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Hungry Hungry Hippos: Towards Language Modeling with State Space Models', arxiv: '2212.14052', year: 2022, url: 'https://arxiv.org/abs/2212.14052' };

/** Causal; decodes with a shift window + diagonal SSM state; no segment resets or padding masks. */
export const H3_CAPABILITIES: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/mixer-h3',
  version: VERSION,
  paper: PAPER,
  description: 'H3 layer: q ⊙ SSM_diag(SSM_shift(k) ⊙ v), head_dim 1, with recurrent decoding.',
  provides: [
    mixer('h3', {
      description: 'H3: k <- shift SSM(k), y = q ⊙ S4D(k ⊙ v), output Linear.',
      options: h3Options,
      capabilities: H3_CAPABILITIES,
      check: (opts, env) => {
        checkS4Options(opts, env.path);
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "h3" is a causal SSM layer and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`);
        }
      },
      create: (opts, ctx) => {
        checkS4Options(opts, ctx.path);
        return new H3(ctx.dims.dModel, opts, ctx.rng);
      },
    }),
  ],
});
