/**
 * @weft/mixer-mamba — Mamba (Gu & Dao, 2023): the selective state-space mixer block, trained
 * with a parallel selective scan and decoded with a constant-size recurrent state.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import mamba from '@weft/mixer-mamba';
 * const model = buildModel(createRegistry().use(standard).use(mamba), {
 *   vocab: 256, dModel: 64, layers: 2, positional: 'none', feedforward: null, mixer: { kind: 'mamba', d_state: 16 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { Mamba } from './mamba.js';
import { checkMambaOptions, mambaOptions } from './options.js';
import { VERSION } from './version.js';

export { Mamba, MambaState, dtBiasInit } from './mamba.js';
export { selectiveScan, selectiveRecurrent, type SelectiveScanInputs } from './selective-scan.js';
/** Re-exported from @weft/nn, where the shared causal depthwise conv lives. */
export { causalConv1d } from '@weft/nn';
export { mambaOptions, checkMambaOptions, resolveDtRank, type MambaOptions } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Mamba: Linear-Time Sequence Modeling with Selective State Spaces', arxiv: '2312.00752', year: 2023, url: 'https://arxiv.org/abs/2312.00752' };

/** Causal only; decodes with a conv window + SSM state; no segment resets or padding masks. */
export const MAMBA_CAPABILITIES: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/mixer-mamba',
  version: VERSION,
  paper: PAPER,
  description: 'Mamba selective SSM block: in_proj, causal conv, input-dependent Δ/B/C, selective scan, gated out_proj.',
  provides: [
    mixer('mamba', {
      description: 'Mamba block: selective scan h_t = exp(ΔA) h + ΔBx, y = Ch + Dx, gated by silu(z).',
      options: mambaOptions,
      capabilities: MAMBA_CAPABILITIES,
      check: (opts, env) => {
        checkMambaOptions(opts, env.path);
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "mamba" is a causal scan and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`);
        }
      },
      create: (opts, ctx) => {
        checkMambaOptions(opts, ctx.path);
        return new Mamba(ctx.dims.dModel, opts, ctx.rng);
      },
    }),
  ],
});
