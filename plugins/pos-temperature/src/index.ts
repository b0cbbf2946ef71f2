/**
 * @weft/pos-temperature — three logit-temperature techniques for length generalisation, each
 * a positional kind that may wrap another positional encoding (`inner`):
 *
 *   'logn'       logits × log n           (Chiang & Cholak 2022, arXiv 2202.12172)
 *   'align'      logits × 1/τ, τ aligned   (Chi et al. 2023, arXiv 2311.00684; alignTemperature())
 *   'tempscale'  logits × 1/τ, τ < 1       (Zhou et al. 2024, arXiv 2410.24200)
 *
 *   buildModel(createRegistry().use(standard, rope, temperature), { ...,
 *     positional: { kind: 'logn', inner: { kind: 'rope' } } });
 */
import { ConfigError, definePlugin, positional, slotRef, z, type PositionalEncoding, type Registry, type SlotCapabilities, type SlotConfig } from '@weft/core';
import { AlignedTemperature } from './align.js';
import { LognScaling } from './logn.js';
import { TempScale } from './tempscale.js';
import { VERSION } from './version.js';

export { AlignedTemperature, alignTemperature, attentionEntropy, type AlignSearchOptions } from './align.js';
export { LognScaling, type LognParams } from './logn.js';
export { TempScale } from './tempscale.js';
export { TemperatureEncoding } from './wrap.js';
export { VERSION } from './version.js';

export const LOGN_PAPER = { title: 'Overcoming a Theoretical Limitation of Self-Attention', arxiv: '2202.12172', year: 2022, url: 'https://arxiv.org/abs/2202.12172' };
export const ALIGN_PAPER = {
  title: 'Attention Alignment and Flexible Positional Embeddings Improve Transformer Length Extrapolation',
  arxiv: '2311.00684',
  year: 2023,
  url: 'https://arxiv.org/abs/2311.00684',
};
export const TEMPSCALE_PAPER = { title: 'Length-Induced Embedding Collapse in Transformer-based Models', arxiv: '2410.24200', year: 2024, url: 'https://arxiv.org/abs/2410.24200' };

/** An optional positional encoding whose hooks run unchanged inside the temperature. */
const inner = slotRef('positional').optional();

export const LognOptions = z.object({
  inner,
  /** β of log_β n (paper: natural log). */
  base: z.number().gt(1, { message: 'base is the base of the logarithm: use a number > 1 (the paper uses the natural log, 2.718281828459045)' }).default(Math.E),
  /** Divide by log_β(trainLength) so the factor is 1 at the training length (not in the paper). */
  trainLength: z.number().int({ message: 'trainLength must be a whole number of tokens (the training sequence length), or left out' }).gt(1, { message: 'trainLength must be > 1 token (log 1 = 0 cannot normalise), or left out' }).optional(),
});

const temperatureField = (paper: string, fix: string) =>
  z.number({ message: `temperature τ is required: ${fix}` }).positive({ message: `temperature τ must be > 0 (${paper}): ${fix}` });

export const AlignOptions = z.object({
  inner,
  /** τ found with alignTemperature() for the inference length (1: no change). */
  temperature: temperatureField('logits are divided by τ', 'use the τ returned by alignTemperature() for your inference length (1 = no change)').default(1),
});

export const TempScaleOptions = z.object({
  inner,
  /** τ < 1 (no default: the paper tunes it per model). */
  temperature: temperatureField('logits are divided by τ', 'TempScale needs 0 < τ ≤ 1, e.g. 0.9; τ = 1 is the unmodified model').max(1, {
    message: 'temperature τ must be ≤ 1: TempScale sharpens attention with τ < 1 (e.g. 0.9); for τ > 1 use kind "align"',
  }),
});

function withInner(own: Partial<SlotCapabilities['positional']>) {
  return (opts: { inner?: unknown }, registry: Registry): SlotCapabilities['positional'] => {
    const base = opts.inner ? registry.capabilities('positional', opts.inner as SlotConfig) : { embed: false, rotate: false, bias: false };
    return { ...base, ...own, rotate: base.rotate || Boolean(own.rotate), logitScale: true };
  };
}

function checkInner(opts: { inner?: unknown }, env: Parameters<NonNullable<Parameters<typeof positional>[1]['check']>>[1]): void {
  if (!opts.inner) return;
  const config = opts.inner as SlotConfig;
  if (config.kind === 'coca') {
    throw new ConfigError(`${env.path}.inner`, 'CoCA\'s rotate hook returns score features, not rotated queries; "logn" would scale them quadratically. Put the temperature on a plain rotary encoding (e.g. { "kind": "rope" }).');
  }
  env.registry.check('positional', config, { ...env, path: `${env.path}.inner` });
}

const buildInner = (opts: { inner?: unknown }, ctx: { build: (slot: 'positional', c: SlotConfig, path: string) => PositionalEncoding; path: string }) =>
  opts.inner ? ctx.build('positional', opts.inner as SlotConfig, `${ctx.path}.inner`) : undefined;

export const logn = positional('logn', {
  description: `Log-length scaled attention (${LOGN_PAPER.title}, arXiv ${LOGN_PAPER.arxiv}): logits × log n, n = keys visible to each query (causal: position + 1).`,
  options: LognOptions,
  nested: { inner: 'positional' },
  capabilities: withInner({ rotate: true }),
  check: checkInner,
  create: (opts, ctx) => new LognScaling({ base: opts.base, trainLength: opts.trainLength }, buildInner(opts, ctx)),
});

export const align = positional('align', {
  description: `Attention alignment (${ALIGN_PAPER.title}, arXiv ${ALIGN_PAPER.arxiv}): logits × 1/τ with τ chosen so the attention entropy matches the training length's (alignTemperature()).`,
  options: AlignOptions,
  nested: { inner: 'positional' },
  capabilities: withInner({}),
  check: checkInner,
  create: (opts, ctx) => new AlignedTemperature(opts.temperature, buildInner(opts, ctx)),
});

export const tempscale = positional('tempscale', {
  description: `TempScale (${TEMPSCALE_PAPER.title}, arXiv ${TEMPSCALE_PAPER.arxiv}): a softmax temperature τ < 1 on every attention layer's logits.`,
  options: TempScaleOptions,
  nested: { inner: 'positional' },
  capabilities: withInner({}),
  check: checkInner,
  create: (opts, ctx) => new TempScale(opts.temperature, buildInner(opts, ctx)),
});

export default definePlugin({
  name: '@weft/pos-temperature',
  version: VERSION,
  papers: [LOGN_PAPER, ALIGN_PAPER, TEMPSCALE_PAPER],
  description: 'Attention-logit temperatures for length generalisation: log-n scaling, entropy-aligned τ, TempScale τ < 1; each may wrap another positional encoding.',
  provides: [logn, align, tempscale],
});
