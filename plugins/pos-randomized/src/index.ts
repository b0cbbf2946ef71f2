/**
 * @weft/pos-randomized — randomized positional encodings (Ruoss et al. 2023): any inner
 * positional encoding, applied at a sorted random subset of positions from [0, maxLength).
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import randomized from '@weft/pos-randomized';
 * const model = buildModel(createRegistry().use(standard, randomized), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   positional: { kind: 'randomized', inner: { kind: 'sinusoidal' }, maxLength: 2048 },
 * });
 * ```
 */
import { ConfigError, definePlugin, positional, slotRef, z, type PositionalEncoding, type SlotConfig } from '@weft/core';
import { RandomizedEncoding } from './randomized.js';
import { VERSION } from './version.js';

export { RandomizedEncoding, RANDOMIZED_POSITIONS, samplePositions, type EvalPositions, type RandomizedParams } from './randomized.js';
export { VERSION } from './version.js';

export const RANDOMIZED_PAPER = {
  title: 'Randomized Positional Encodings Boost Length Generalization of Transformers',
  arxiv: '2305.16843',
  year: 2023,
  url: 'https://arxiv.org/abs/2305.16843',
};

export const RandomizedOptions = z.object({
  /** The encoding applied at the sampled positions, e.g. { kind: 'rope' } or { kind: 'sinusoidal' }. */
  inner: slotRef('positional'),
  /** L: positions are sampled from [0, L); must exceed every sequence length (paper: 2048). */
  maxLength: z
    .number()
    .int({ message: 'maxLength is the number of simulated positions L: use a whole number (paper: 2048)' })
    .positive({ message: 'maxLength is the number of simulated positions L: use a positive whole number larger than any test length (paper: 2048)' })
    .default(2048),
  /** Eval mode: 'sampled' like training (reference code), or 'contiguous' positions 0..n−1. */
  evalPositions: z.enum(['sampled', 'contiguous'], { message: 'evalPositions must be "sampled" (as in training, the reference code) or "contiguous" (0..n-1 at eval)' }).default('sampled'),
});
export type RandomizedOptions = z.output<typeof RandomizedOptions>;

export const randomizedPositional = positional('randomized', {
  description: 'Randomized positional encoding: the inner encoding at a sorted random subset of positions from [0, maxLength).',
  options: RandomizedOptions,
  nested: { inner: 'positional' },
  capabilities: (opts, registry) => ({ ...registry.capabilities('positional', opts.inner as SlotConfig) }),
  check: (opts, env) => {
    const inner = opts.inner as SlotConfig;
    if (inner.kind === 'randomized') {
      throw new ConfigError(`${env.path}.inner`, 'a randomized encoding cannot wrap another randomized encoding; give the inner encoding directly (e.g. { "kind": "rope" })');
    }
    if (inner.kind === 'none') {
      throw new ConfigError(`${env.path}.inner`, 'wrapping "none" does nothing: there are no positions to randomize. Use an encoding such as { "kind": "sinusoidal" } or { "kind": "rope" }');
    }
    env.registry.check('positional', inner, { ...env, path: `${env.path}.inner` });
  },
  create: (opts, ctx) => {
    const inner: PositionalEncoding = ctx.build('positional', opts.inner as SlotConfig, `${ctx.path}.inner`);
    return new RandomizedEncoding(inner, { maxLength: opts.maxLength, evalPositions: opts.evalPositions });
  },
});

export default definePlugin({
  name: '@weft/pos-randomized',
  version: VERSION,
  paper: RANDOMIZED_PAPER,
  description: 'Randomized positional encodings: wrap any positional encoding and train on sorted random positions from a longer range.',
  provides: [randomizedPositional],
});
