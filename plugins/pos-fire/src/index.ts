/**
 * @weft/pos-fire — FIRE (Li et al. 2024): a learned MLP of the progressively interpolated
 * log relative distance, one per layer, as an attention logit bias.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import fire from '@weft/pos-fire';
 * const model = buildModel(createRegistry().use(standard, fire), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'fire' },
 * });
 * ```
 */
import { definePlugin, positional, z } from '@weft/core';
import { FireBias } from './fire.js';
import { VERSION } from './version.js';

export { FireBias, fireBias, normalizedDistance, type FireOptions, type FireParams } from './fire.js';
export { VERSION } from './version.js';

export const FIRE_PAPER = {
  title: 'Functional Interpolation for Relative Positions Improves Long Context Transformers',
  arxiv: '2310.04418',
  year: 2024,
  url: 'https://arxiv.org/abs/2310.04418',
};

export const fireOptions = z.object({
  /** Hidden width of f_θ (paper: 32). */
  mlpWidth: z.number().int('must be a whole number of hidden units (paper: 32)').positive('must be at least 1 hidden unit (paper: 32)').default(32),
  /** Initial c of ψ(x) = log(c·x + 1) (paper: 0.1). */
  initC: z.number().positive('must be > 0: c scales distances inside log(c·x + 1) (paper: 0.1)').default(0.1),
  /** Threshold length L = |multiplier · initL| (paper: 512; the multiplier is learned, init 1). */
  initL: z.number().positive('must be a positive length, the threshold L below which positions are not normalised (paper: 512)').default(512),
  /** Added to the denominator ψ(max(i, L)) (reference code: 1e-6). */
  eps: z.number().nonnegative('must be >= 0 (reference code: 1e-6)').default(1e-6),
});

export default definePlugin({
  name: '@weft/pos-fire',
  version: VERSION,
  paper: FIRE_PAPER,
  description: 'FIRE: per-layer MLP of log(c|i-j|+1)/log(c·max(i,L)+1) as an attention bias; learned c and L.',
  provides: [
    positional('fire', {
      description: 'Functional Interpolation for Relative Positions: a per-layer MLP bias of the normalised log distance.',
      options: fireOptions,
      capabilities: { embed: false, rotate: false, bias: true, perLayer: true },
      create: (o, ctx) => new FireBias({ heads: ctx.dims.heads, mlpWidth: o.mlpWidth, initC: o.initC, initL: o.initL, eps: o.eps }, ctx.rng),
    }),
  ],
});
