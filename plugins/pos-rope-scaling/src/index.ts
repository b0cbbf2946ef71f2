/**
 * @weft/pos-rope-scaling — Giraffe's RoPE context extension: linear (position interpolation),
 * power basis and truncated basis, on top of @weft/pos-rope's rotation.
 */
import { definePlugin, positional, z } from '@weft/core';
import { ROTARY_LAYOUTS, RotaryEncoding, rotaryDimFor } from '@weft/pos-rope';
import { giraffeFrequencies } from './giraffe.js';
import { VERSION } from './version.js';

export { VERSION } from './version.js';
export { giraffeFrequencies, type BasisOptions, type GiraffeMethod } from './giraffe.js';

const FIX_POWER = 'method "power" needs "power" (k in θ_i·(1 − 2i/d)^k), e.g. { "method": "power", "power": 2 }';
const FIX_TRUNCATED = 'method "truncated" needs "a", "b" and "rho" (per-position frequencies θ_i/s ≥ b kept, < a set to 0, in between set to rho), e.g. { "a": 0.001, "b": 0.05, "rho": 0.0005 }';

export const ropeScalingOptions = z
  .object({
    method: z.enum(['linear', 'power', 'truncated'], { message: 'method must be "linear" (position interpolation), "power" or "truncated"' }).default('linear'),
    scale: z.number().positive({ message: 'scale divides positions (m/s): use a number > 0, e.g. target length / training length (1 = none)' }).default(1),
    base: z.number().positive({ message: 'base must be > 0 (RoPE uses 10000)' }).default(10000),
    fraction: z.number().min(0, { message: 'fraction must be in [0, 1]' }).max(1, { message: 'fraction must be in [0, 1]' }).default(1),
    layout: z.enum(ROTARY_LAYOUTS, { message: 'layout must be "interleaved" or "half-split"' }).default('interleaved'),
    power: z.number().min(0, { message: 'power k must be >= 0 (0 = plain RoPE basis)' }).optional(),
    a: z.number().min(0, { message: 'a (lower cutoff) must be >= 0' }).optional(),
    b: z.number().positive({ message: 'b (upper cutoff) must be > 0' }).optional(),
    rho: z.number().min(0, { message: 'rho (the fixed middle-band frequency) must be >= 0' }).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.method === 'power' && o.power === undefined) ctx.addIssue({ code: 'custom', path: ['power'], message: FIX_POWER });
    if (o.method === 'truncated') {
      for (const f of ['a', 'b', 'rho'] as const) if (o[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: FIX_TRUNCATED });
      if (o.a !== undefined && o.b !== undefined && !(o.a < o.b)) {
        ctx.addIssue({ code: 'custom', path: ['b'], message: `the cutoffs need a < b, but a = ${o.a}; raise b or lower a` });
      }
    }
    const unused = o.method !== 'power' && o.power !== undefined ? ['power'] : [];
    if (o.method !== 'truncated') unused.push(...(['a', 'b', 'rho'] as const).filter((f) => o[f] !== undefined));
    for (const f of unused) ctx.addIssue({ code: 'custom', path: [f], message: `"${f}" has no effect with method "${o.method}"; remove it or choose the method that uses it` });
  });

export const ropeScaling = positional('rope-scaling', {
  description: "Giraffe's RoPE context extension: linear position interpolation, power basis θ_i(1 − 2i/d)^k, or truncated basis.",
  options: ropeScalingOptions,
  capabilities: { embed: false, rotate: true, bias: false },
  create: (opts, ctx) => {
    const rotaryDim = rotaryDimFor(ctx.dims.headDim, opts.fraction, ctx.path);
    // ω_i already includes the 1/s of the linear scale (angle = m · ω_i), see giraffe.ts
    const invFreq = giraffeFrequencies(opts.method, rotaryDim, opts.base, opts);
    return new RotaryEncoding({ headDim: ctx.dims.headDim, rotaryDim, layout: opts.layout, invFreq });
  },
});

export default definePlugin({
  name: '@weft/pos-rope-scaling',
  version: VERSION,
  paper: { title: 'Giraffe: Adventures in Expanding Context Lengths in LLMs', arxiv: '2308.10882', year: 2023 },
  description: 'RoPE context extension: linear interpolation, power basis, truncated basis.',
  provides: [ropeScaling],
});
