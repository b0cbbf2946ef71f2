/**
 * @weft/memory-block-recurrent: Block-Recurrent Transformers (Hutchins et al., 2022)
 * arXiv:2203.07852 — sliding-window attention plus S recurrent state vectors, updated once per
 * block of W tokens through LSTM-style gates, as the mixer kind "block-recurrent".
 *
 * ```ts
 * const model = buildModel(createRegistry().use(standard, blockRecurrent), {
 *   vocab: 64, dModel: 32, layers: 2, heads: 2, segmentLength: 64,
 *   layout: [{ mixer: { kind: 'block-recurrent', blockLength: 16, stateSize: 0 } },
 *            { mixer: { kind: 'block-recurrent', blockLength: 16, stateSize: 16 } }],
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, z, type MixerCapabilities } from '@weft/core';
import { BlockRecurrentMixer } from './block-recurrent.js';
import { VERSION } from './version.js';

export { BlockRecurrentMixer, BlockRecurrentState, slidingWindowMask, type BlockRecurrentConfig, type GateConfiguration, type GateType } from './block-recurrent.js';
export { VERSION } from './version.js';

export const PAPER = {
  title: 'Block-Recurrent Transformers',
  arxiv: '2203.07852',
  year: 2022,
  url: 'https://arxiv.org/abs/2203.07852',
};

const W_HINT = 'blockLength is W, the tokens per block and the sliding-window length: a whole number >= 1 (the paper uses 512)';
const S_HINT = 'stateSize is S, the number of recurrent state vectors: a whole number >= 0 (0 = plain sliding-window attention; the paper uses 512)';
const GATE_HINT = 'gate must be "fixed" (c·σ(b_g) + z·(1−σ(b_g))) or "lstm" (input and forget gates)';
const CONF_HINT = 'configuration must be "skip" (projection + gate), "dual" (projection + gate, then state MLP + gate) or "single" (state MLP + one gate)';
const F_HINT = 'ffnHidden is the hidden width of the state MLP ("dual", "single"): a whole number >= 1 (default 4·dModel)';

export const BlockRecurrentOptions = z.object({
  blockLength: z.number({ message: W_HINT }).int({ message: W_HINT }).min(1, { message: W_HINT }).default(512),
  stateSize: z.number({ message: S_HINT }).int({ message: S_HINT }).min(0, { message: S_HINT }).default(512),
  gate: z.enum(['fixed', 'lstm'], { message: GATE_HINT }).default('fixed'),
  configuration: z.enum(['skip', 'dual', 'single'], { message: CONF_HINT }).default('skip'),
  ffnHidden: z.number({ message: F_HINT }).int({ message: F_HINT }).min(1, { message: F_HINT }).optional(),
});
export type BlockRecurrentOptions = z.output<typeof BlockRecurrentOptions>;

/** Causal only; decodes from its own state (c, the window and the unfinished block) with step; no packing or padding masks. */
export const blockRecurrentCapabilities: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/memory-block-recurrent',
  version: VERSION,
  paper: PAPER,
  description: 'Block-Recurrent Transformer: causal sliding-window attention over blocks of W tokens, plus S state vectors that the tokens cross-attend to and that are updated per block through fixed or LSTM gates.',
  provides: [
    mixer('block-recurrent', {
      description: 'Block-Recurrent Transformer layer: tokens see the last W tokens and the state c_τ; the state attends to itself and the block and is gated into c_{τ+1}.',
      options: BlockRecurrentOptions,
      capabilities: blockRecurrentCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "block-recurrent" is causal (sliding-window attention with a recurrent state), but this model is bidirectional. Use it in a causal-lm model.`);
        }
      },
      create: (opts, ctx) =>
        new BlockRecurrentMixer(
          { blockLength: opts.blockLength, stateSize: opts.stateSize, gate: opts.gate, configuration: opts.configuration, ffnHidden: opts.ffnHidden ?? 4 * ctx.dims.dModel },
          ctx.dims,
          ctx.rng,
        ),
    }),
  ],
});
