/**
 * @weft/mixer-longhorn — Longhorn (Liu et al., "Longhorn: State Space Models are Amortized
 * Online Learners", arXiv 2407.14207): a Mamba-style block whose SSM update is the (diagonalised)
 * closed-form solution of an online regression objective, trained with a parallel scan and
 * decoded with a constant-size state.
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { LonghornMixer } from './longhorn.js';
import { longhornOptions } from './options.js';
import { VERSION } from './version.js';

export { LonghornMixer, LonghornState } from './longhorn.js';
export { longhornScan, longhornRecurrent, longhornStepSize, type LonghornScanInputs } from './online-update.js';
/** Re-exported from @weft/nn, where the shared segment-aware causal conv lives. */
export { crossesSegment, segmentCausalConv1d } from '@weft/nn';
export { longhornOptions, type LonghornOptions } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Longhorn: State Space Models are Amortized Online Learners', arxiv: '2407.14207', year: 2024, url: 'https://arxiv.org/abs/2407.14207' };

/** Causal; decodes with a conv window + state; resets conv and state at packed-sequence boundaries; no padding masks. */
export const longhornCapabilities: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: true, padding: false };

export default definePlugin({
  name: '@weft/mixer-longhorn',
  version: VERSION,
  paper: PAPER,
  description: 'Longhorn SSM block: in_proj, causal conv, k/q/β from x, online-regression state update S = (1 − ε⊗k²)⊙S + (ε⊙x)⊗k, gated out_proj.',
  provides: [
    mixer('longhorn', {
      description: 'Longhorn: S_t = (1 − ε_t⊗k_t²)⊙S_{t−1} + (ε_t⊙x_t)⊗k_t, ε = β/(1 + βkᵀk), y = S_t q_t + D x, gated by silu(z).',
      options: longhornOptions,
      capabilities: longhornCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(
            `${env.path}: mixer "longhorn" is a causal recurrence and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`,
          );
        }
      },
      create: (opts, ctx) => new LonghornMixer(ctx.dims.dModel, opts, ctx.rng),
    }),
  ],
});
