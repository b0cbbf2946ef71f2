/**
 * @weft/memory-transformer-xl: Transformer-XL (Dai et al., 2019) arXiv:1901.02860 — relative
 * positional attention with segment-level recurrence, as the mixer kind "transformer-xl".
 *
 * ```ts
 * const model = buildModel(createRegistry().use(standard, transformerXl), {
 *   vocab: 64, dModel: 32, layers: 2, positional: 'none', segmentLength: 16,
 *   mixer: { kind: 'transformer-xl', memLength: 16 },
 * });
 * ```
 */
import { definePlugin, IncompatibleError, mixer, z, type MixerCapabilities } from '@weft/core';
import { TransformerXlAttention } from './transformer-xl.js';
import { VERSION } from './version.js';

export { TransformerXlAttention, XlMemory, relativeSinusoids, type TransformerXlConfig } from './transformer-xl.js';
export { relShift } from './rel-shift.js';
export { VERSION } from './version.js';

export const PAPER = {
  title: 'Transformer-XL: Attentive Language Models Beyond a Fixed-Length Context',
  arxiv: '1901.02860',
  year: 2019,
  url: 'https://arxiv.org/abs/1901.02860',
};

const MEM_LENGTH_HINT = 'memLength (mem_len) is how many previous layer inputs each layer keeps: a whole number >= 0 (the paper uses the segment length or more; 0 = no memory)';

export const TransformerXlOptions = z.object({
  memLength: z.number({ message: MEM_LENGTH_HINT }).int({ message: MEM_LENGTH_HINT }).min(0, { message: MEM_LENGTH_HINT }).default(128),
});
export type TransformerXlOptions = z.output<typeof TransformerXlOptions>;

/** Causal only; decodes from a cache of layer inputs; no packing or padding masks. */
export const transformerXlCapabilities: MixerCapabilities = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

export default definePlugin({
  name: '@weft/memory-transformer-xl',
  version: VERSION,
  paper: PAPER,
  description: 'Transformer-XL: relative positional attention (u, v biases, sinusoidal R, rel-shift) with a stop-gradient memory of previous segments.',
  provides: [
    mixer('transformer-xl', {
      description: 'Transformer-XL attention: score = (q+u)·k_j + (q+v)·W_r R_{i+M−j}; memory = last memLength layer inputs, detached.',
      options: TransformerXlOptions,
      capabilities: transformerXlCapabilities,
      check: (_opts, env) => {
        if (!env.causal) {
          throw new IncompatibleError(`${env.path}: mixer "transformer-xl" is causal (mask triu(ones(qlen, klen), 1 + mlen)), but this model is bidirectional. Use it in a causal-lm model.`);
        }
        if (env.positional && env.positional.kind !== 'none') {
          throw new IncompatibleError(
            `${env.path}: mixer "transformer-xl" brings its own relative positions, but positional is "${env.positional.kind}". Set "positional": "none" (Transformer-XL adds no absolute encoding).`,
          );
        }
      },
      create: (opts, ctx) => {
        if (ctx.dims.dModel % 2 !== 0) {
          throw new IncompatibleError(`${ctx.path}: transformer-xl's sinusoidal R needs an even dModel; got ${ctx.dims.dModel}. Use an even dModel.`);
        }
        return new TransformerXlAttention({ dModel: ctx.dims.dModel, heads: ctx.dims.heads, headDim: ctx.dims.headDim, memLength: opts.memLength }, ctx.rng);
      },
    }),
  ],
});
