/**
 * @weft/pos-coca — CoCA, Collinear Constrained Attention (Zhu et al. 2023, arXiv 2309.08646):
 * RoPE with every key constrained collinear to the query in each rotary plane.
 *
 *   import coca from '@weft/pos-coca';
 *   buildModel(createRegistry().use(standard, coca), { ..., positional: { kind: 'coca' } });
 */
import { definePlugin, positional, z } from '@weft/core';
import { ROTARY_LAYOUTS } from '@weft/pos-rope';
import { CocaEncoding } from './coca.js';
import { VERSION } from './version.js';

export { CocaEncoding, collinearKeys, mergePlanes, splitPlanes, type CocaParams } from './coca.js';
export { VERSION } from './version.js';

export const COCA_PAPER = {
  title: 'CoCA: Fusing Position Embedding with Collinear Constrained Attention in Transformers for Long Context Window Extending',
  arxiv: '2309.08646',
  year: 2023,
  url: 'https://arxiv.org/abs/2309.08646',
};

export const CocaOptions = z.object({
  /** RoPE base of θ_i = base^(-2i/Dh) (paper and reference code: 10000). */
  base: z.number().positive({ message: 'base must be > 0 (CoCA uses the RoPE base 10000)' }).default(10000),
  /** Which dims form a rotary plane; the reference code (LLaMA / GPT-NeoX) is half-split. */
  layout: z.enum(ROTARY_LAYOUTS, { message: 'layout must be "half-split" (the CoCA reference code, LLaMA / GPT-NeoX) or "interleaved" (RoFormer, GPT-J)' }).default('half-split'),
});
export type CocaOptions = z.output<typeof CocaOptions>;

export const coca = positional('coca', {
  description: 'Collinear Constrained Attention: RoPE with each key collinear to the query per plane, k = t ⊙ q with t = ReLU(plane mean of the key projection) ≥ 0.',
  options: CocaOptions,
  capabilities: { embed: false, rotate: true, bias: false },
  create: (opts, ctx) => new CocaEncoding({ headDim: ctx.dims.headDim, base: opts.base, layout: opts.layout }, ctx.path),
});

export default definePlugin({
  name: '@weft/pos-coca',
  version: VERSION,
  paper: COCA_PAPER,
  description: 'CoCA: rotary attention with keys constrained collinear to queries per plane, for long-context extrapolation.',
  provides: [coca],
});
