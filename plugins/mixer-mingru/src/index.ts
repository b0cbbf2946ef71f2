/**
 * @weft/mixer-mingru — minGRU and minLSTM (Feng et al., "Were RNNs All We Needed?", 2024):
 * recurrent mixers whose gates depend only on the current input, trained in parallel with a
 * stable log-space scan and decoded one token at a time with constant memory.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import minrnn from '@weft/mixer-mingru';
 * const model = buildModel(createRegistry().use(standard).use(minrnn), {
 *   vocab: 256, dModel: 64, layers: 2, positional: 'none', mixer: { kind: 'mingru', expansion: 2 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, type MixerCapabilities } from '@weft/core';
import { MinGRU, MinLSTM } from './min-rnn.js';
import { minRnnOptions } from './options.js';
import { VERSION } from './version.js';

export { MinGRU, MinLSTM, MinRnnState, g, logG, type MinRnnConfig } from './min-rnn.js';
/** Re-exported from @weft/nn, where the shared log-space scan and segment helpers live. */
export { logScan, logcumsumexp, logAddExp, LOG_ZERO, segmentStarts, type LogScanOptions } from '@weft/nn';
export { minRnnOptions, type MinRnnOptions } from './options.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Were RNNs All We Needed?', arxiv: '2410.01201', year: 2024, url: 'https://arxiv.org/abs/2410.01201' };

/** Causal recurrences: decode with a [B, hidden] state; reset at segment-id boundaries. */
export const MIN_RNN_CAPABILITIES: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: true, padding: false };

function causalOnly(kind: string) {
  return (_opts: unknown, env: { causal: boolean; path: string }) => {
    if (!env.causal) {
      throw new IncompatibleError(
        `${env.path}: mixer "${kind}" is a causal recurrence and cannot see future tokens, but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`,
      );
    }
  };
}

export default definePlugin({
  name: '@weft/mixer-mingru',
  version: VERSION,
  paper: PAPER,
  description: 'minGRU / minLSTM: input-only gates, parallel log-space scan for training, O(1)-memory recurrent decoding.',
  provides: [
    mixer('mingru', {
      description: 'minGRU: h_t = (1 − z_t) h_{t−1} + z_t g(Linear_h x_t), z_t = σ(Linear_z x_t).',
      options: minRnnOptions,
      capabilities: MIN_RNN_CAPABILITIES,
      check: causalOnly('mingru'),
      create: (opts, ctx) => new MinGRU({ dModel: ctx.dims.dModel, ...opts }, ctx.rng),
    }),
    mixer('minlstm', {
      description: "minLSTM: h_t = f'_t h_{t−1} + i'_t g(Linear_h x_t) with f', i' = f, i normalised to sum to 1.",
      options: minRnnOptions,
      capabilities: MIN_RNN_CAPABILITIES,
      check: causalOnly('minlstm'),
      create: (opts, ctx) => new MinLSTM({ dModel: ctx.dims.dModel, ...opts }, ctx.rng),
    }),
  ],
});
