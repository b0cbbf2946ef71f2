/**
 * @weft/mixer-s4 — S4 (Gu, Goel & Ré, 2021) in its diagonal form S4D: a per-channel
 * state-space convolution mixer with a recurrent mode for decoding.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import s4 from '@weft/mixer-s4';
 * const model = buildModel(createRegistry().use(standard).use(s4), {
 *   vocab: 256, dModel: 64, layers: 2, positional: 'none', mixer: { kind: 's4', d_state: 64 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { checkS4Options, s4Options } from './options.js';
import { S4Mixer } from './s4.js';
import { VERSION } from './version.js';

export { S4Mixer, gelu } from './s4.js';
export { S4DLayer, S4DState } from './s4d-layer.js';
export { s4dKernel, s4dDiscretize, type S4DParams } from './s4d-kernel.js';
/** Re-exported from @weft/nn, where the shared causal long convolution lives. */
export { causalLongConv, causalToeplitz } from '@weft/nn';
export { s4Options, checkS4Options, type S4Options } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Efficiently Modeling Long Sequences with Structured State Spaces', arxiv: '2111.00396', year: 2021, url: 'https://arxiv.org/abs/2111.00396' };

/** Causal convolution; decodes with a complex diagonal state; no segment resets or padding masks. */
export const S4_CAPABILITIES: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/mixer-s4',
  version: VERSION,
  paper: PAPER,
  description: 'S4 (diagonal S4D): per-channel SSM convolution K ∗ u + Du, GELU, linear + GLU; recurrent decoding.',
  provides: [
    mixer('s4', {
      description: 'S4D block: y = GLU(Linear(GELU(K ∗ u + D u))) with the ZOH diagonal SSM kernel K.',
      options: s4Options,
      capabilities: S4_CAPABILITIES,
      check: (opts, env) => {
        checkS4Options(opts, env.path);
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "s4" is implemented as a causal convolution and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`);
        }
      },
      create: (opts, ctx) => {
        checkS4Options(opts, ctx.path);
        return new S4Mixer(ctx.dims.dModel, opts, ctx.rng);
      },
    }),
  ],
});
