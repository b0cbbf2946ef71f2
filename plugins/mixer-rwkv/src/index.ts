/**
 * @weft/mixer-rwkv — RWKV-4 (Peng et al., "RWKV: Reinventing RNNs for the Transformer Era",
 * arXiv 2305.13048): time-mix (token shift + the stable WKV recurrence) and channel-mix as one
 * causal mixer, trained in parallel with a log-depth scan and decoded one token at a time.
 */
import { definePlugin, IncompatibleError, mixer } from '@weft/core';
import { RwkvOptions } from './options.js';
import { rwkvCapabilities, RwkvMixer } from './rwkv.js';
import { VERSION } from './version.js';

export { RwkvOptions } from './options.js';
export { rwkvCapabilities, RwkvMixer, RwkvState, TimeMix, ChannelMix, tokenShift, segmentStarts } from './rwkv.js';
export { wkv, wkvStep, wkvInitState, LOG_ZERO, type WkvState, type WkvOptions } from './wkv.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'RWKV: Reinventing RNNs for the Transformer Era', arxiv: '2305.13048', year: 2023, url: 'https://arxiv.org/abs/2305.13048' };

export default definePlugin({
  name: '@weft/mixer-rwkv',
  version: VERSION,
  paper: PAPER,
  description: 'RWKV-4: token-shift time-mix with the stable WKV recurrence plus squared-ReLU channel-mix; parallel scan for training, O(1)-memory decoding.',
  provides: [
    mixer('rwkv', {
      description: 'RWKV-4 block: a = W_o(σ(r) ⊙ WKV(w, u, k, v)), then a + σ(r′) ⊙ W′_v relu(k′)² on ln2(x + a). Set the layer feedforward to null.',
      options: RwkvOptions,
      capabilities: rwkvCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(
            `${env.path}: mixer "rwkv" is a causal recurrence (token shift and WKV look only backwards), but this model is bidirectional. Use it in a causal-lm model, or an attention mixer for encoders.`,
          );
        }
      },
      create: (opts, ctx) => new RwkvMixer(opts, ctx.dims, ctx.rng, ctx.layerIndex),
    }),
  ],
});
