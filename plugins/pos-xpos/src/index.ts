/**
 * @weft/pos-xpos — xPos: RoPE with an exponential decay in relative distance
 * (Sun et al. 2022, "A Length-Extrapolatable Transformer").
 */
import { ConfigError, definePlugin, positional, z } from '@weft/core';
import { ROTARY_LAYOUTS } from '@weft/pos-rope';
import { XPosEncoding } from './xpos.js';
import { VERSION } from './version.js';

export { VERSION } from './version.js';
export { XPosEncoding, xposZeta, type XPosParams } from './xpos.js';

export const xposOptions = z.object({
  base: z.number().positive({ message: 'base must be > 0 (xPos uses RoPE\'s 10000)' }).default(10000),
  scaleBase: z.number().positive({ message: 'scaleBase (the paper\'s γ in ζ^(n/γ)) must be > 0; the paper and torchscale use 512' }).default(512),
  gamma: z.number().min(0, { message: 'gamma (ζ_i = (2i/d + gamma)/(1 + gamma)) must be >= 0; the paper uses 0.4' }).default(0.4),
  centre: z
    .union([z.literal('auto'), z.number()], { message: 'centre must be "auto" (⌊maxLen/2⌋) or a position number' })
    .default('auto'),
  layout: z.enum(ROTARY_LAYOUTS, { message: 'layout must be "interleaved" (torchscale, the paper) or "half-split" (GPT-NeoX/LLaMA)' }).default('interleaved'),
});

export const xpos = positional('xpos', {
  description: 'xPos: RoPE plus per-dimension decay ζ_i^((n−m)/γ) of q·k with relative distance (length extrapolation).',
  options: xposOptions,
  capabilities: { embed: false, rotate: true, bias: false },
  create: (opts, ctx) => {
    const headDim = ctx.dims.headDim;
    if (headDim % 2 !== 0) {
      throw new ConfigError(ctx.path, `xpos rotates dims in pairs, so the head width must be even; got headDim ${headDim}. Change dModel/heads (or headDim).`);
    }
    const centre = opts.centre === 'auto' ? Math.floor(ctx.dims.maxLen / 2) : opts.centre;
    return new XPosEncoding({ headDim, base: opts.base, scaleBase: opts.scaleBase, gamma: opts.gamma, centre, layout: opts.layout });
  },
});

export default definePlugin({
  name: '@weft/pos-xpos',
  version: VERSION,
  paper: { title: 'A Length-Extrapolatable Transformer', arxiv: '2212.10554', year: 2022 },
  description: 'xPos: extrapolatable rotary position embedding with exponential decay.',
  provides: [xpos],
});
