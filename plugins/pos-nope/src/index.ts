/**
 * @weft/pos-nope — NoPE: no positional encoding in a causal LM (Haviv et al. 2022), with the
 * per-head attention temperature λ_h of Wang et al. 2024 as an option.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import nope from '@weft/pos-nope';
 * const model = buildModel(createRegistry().use(standard, nope), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'nope', lambda: 1.2 },
 * });
 * ```
 */
import { definePlugin, positional } from '@weft/core';
import { lambdaForLayer, nopeCapabilities, NopeEncoding, NopeOptions } from './nope.js';
import { VERSION } from './version.js';

export { lambdaForLayer, nopeCapabilities, NopeEncoding, NopeOptions } from './nope.js';
export { VERSION } from './version.js';

export const NOPE_PAPER = {
  title: 'Transformer Language Models without Positional Encodings Still Learn Positional Information',
  arxiv: '2203.16634',
  year: 2022,
  url: 'https://arxiv.org/abs/2203.16634',
};
export const NOPE_TEMPERATURE_PAPER = {
  title: 'Length Generalization of Causal Transformers without Position Encoding',
  arxiv: '2404.12224',
  year: 2024,
  url: 'https://arxiv.org/abs/2404.12224',
};

export const nope = positional('nope', {
  description: 'No positional encoding (order comes from the causal mask), with an optional per-head temperature λ_h on the attention logits.',
  options: NopeOptions,
  capabilities: (options) => nopeCapabilities(options),
  create: (options, ctx) => new NopeEncoding(lambdaForLayer(options.lambda, ctx.dims, ctx.layerIndex, ctx.path), options.learned, ctx.rng),
});

export default definePlugin({
  name: '@weft/pos-nope',
  version: VERSION,
  paper: NOPE_PAPER,
  papers: [NOPE_TEMPERATURE_PAPER],
  description: 'NoPE: causal LMs without positional encoding; optional per-head attention temperature λ_h (fixed or learned).',
  provides: [nope],
});
