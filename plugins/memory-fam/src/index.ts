/**
 * @weft/memory-fam: TransformerFAM (Hwang et al., 2024) arXiv:2404.09173 — block sliding-window
 * attention with feedback memory tokens carried from block to block, as the mixer kind "fam".
 *
 * ```ts
 * const model = buildModel(createRegistry().use(standard, fam), {
 *   vocab: 64, dModel: 32, layers: 2, segmentLength: 16,
 *   mixer: { kind: 'fam', memoryTokens: 8, window: 1 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, z, type MixerCapabilities } from '@weft/core';
import { FamAttention } from './fam.js';
import { VERSION } from './version.js';

export { FamAttention, FamState, famMask, type FamConfig } from './fam.js';
export { VERSION } from './version.js';

export const PAPER = {
  title: 'TransformerFAM: Feedback attention is working memory',
  arxiv: '2404.09173',
  year: 2024,
  url: 'https://arxiv.org/abs/2404.09173',
};

const F_HINT = 'memoryTokens is the number F of feedback memory (FAM) tokens: a whole number >= 0 (0 = plain block sliding-window attention)';
const WINDOW_HINT = 'window is how many previous blocks each block attends to (the memory segment): a whole number >= 0';

export const FamOptions = z.object({
  memoryTokens: z.number({ message: F_HINT }).int({ message: F_HINT }).min(0, { message: F_HINT }).default(8),
  window: z.number({ message: WINDOW_HINT }).int({ message: WINDOW_HINT }).min(0, { message: WINDOW_HINT }).default(1),
});
export type FamOptions = z.output<typeof FamOptions>;

/** Causal only; no incremental decoding (the FAM is updated per block); no packing or padding masks. */
export const famCapabilities: MixerCapabilities = { causal: true, bidirectional: false, decode: false, segments: false, padding: false };

export default definePlugin({
  name: '@weft/memory-fam',
  version: VERSION,
  paper: PAPER,
  description: 'TransformerFAM: block sliding-window attention plus feedback memory tokens that attend to the block and themselves and carry to the next block.',
  provides: [
    mixer('fam', {
      description: 'TransformerFAM: block queries see [FAM_{τ−1}; window previous blocks; causal block]; FAM queries see [FAM_{τ−1}; block] and become FAM_τ.',
      options: FamOptions,
      capabilities: famCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "fam" is causal (block sliding-window attention), but this model is bidirectional. Use it in a causal-lm model.`);
        }
      },
      create: (opts, ctx) => new FamAttention({ memoryTokens: opts.memoryTokens, window: opts.window }, ctx.dims, ctx.rng),
    }),
  ],
});
