/**
 * @weft/pos-rope — rotary position embedding (RoFormer, Su et al. 2021).
 *
 *   import rope from '@weft/pos-rope';
 *   buildModel(createRegistry().use(standard, rope), { ..., positional: { kind: 'rope' } });
 */
import { definePlugin, positional, z } from '@weft/core';
import { ROTARY_LAYOUTS } from './rotary.js';
import { RotaryEncoding, rotaryDimFor } from './rope.js';
import { inverseFrequencies } from './rotary.js';
import { VERSION } from './version.js';

export { VERSION } from './version.js';
export { RotaryEncoding, rotaryDimFor, type RotaryParams } from './rope.js';
export { applyRotary, inverseFrequencies, rotaryAngles, rotatePairs, ROTARY_LAYOUTS, type RotaryLayout } from './rotary.js';

export const ropeOptions = z.object({
  base: z.number().positive({ message: 'base must be > 0 (RoFormer uses 10000; LLaMA 3 uses 500000)' }).default(10000),
  fraction: z
    .number()
    .min(0, { message: 'fraction is the share of each head that rotates: use a number in [0, 1] (1 = all dims, 0.25 = GPT-NeoX)' })
    .max(1, { message: 'fraction is the share of each head that rotates: use a number in [0, 1] (1 = all dims, 0.25 = GPT-NeoX)' })
    .default(1),
  layout: z.enum(ROTARY_LAYOUTS, { message: `layout must be "interleaved" (RoFormer, GPT-J) or "half-split" (GPT-NeoX, LLaMA)` }).default('interleaved'),
});
export type RopeOptions = z.output<typeof ropeOptions>;

export const rope = positional('rope', {
  description: 'Rotary position embedding: rotates q and k pairwise by position·θ_i, θ_i = base^(-2i/d), so q·k depends on relative position only.',
  options: ropeOptions,
  capabilities: { embed: false, rotate: true, bias: false },
  create: (opts, ctx) => {
    const rotaryDim = rotaryDimFor(ctx.dims.headDim, opts.fraction, ctx.path);
    return new RotaryEncoding({ headDim: ctx.dims.headDim, rotaryDim, layout: opts.layout, invFreq: inverseFrequencies(rotaryDim, opts.base) });
  },
});

export default definePlugin({
  name: '@weft/pos-rope',
  version: VERSION,
  paper: { title: 'RoFormer: Enhanced Transformer with Rotary Position Embedding', arxiv: '2104.09864', year: 2021 },
  description: 'Rotary position embedding (RoPE): relative position through rotations of queries and keys.',
  provides: [rope],
});
