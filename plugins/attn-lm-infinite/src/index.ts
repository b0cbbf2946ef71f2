/**
 * @weft/attn-lm-infinite — the Λ-shaped attention mask of LM-Infinite (Han et al. 2023,
 * arXiv 2308.16137): the first nGlobal tokens plus the last nLocal (= L_pretrain) tokens,
 * block-sparse in O(n) memory.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import lmInfinite from '@weft/attn-lm-infinite';
 * const model = buildModel(createRegistry().use(standard, lmInfinite), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4,
 *   attention: { kind: 'lm-infinite', nGlobal: 4, nLocal: 64 },
 * });
 * ```
 */
import { attention, ConfigError, definePlugin } from '@weft/core';
import { POSITIONAL } from '@weft/nn';
import { ROTARY_KINDS } from './distance-limit.js';
import { lmInfiniteCapabilities, LMInfiniteAttention, LMInfiniteOptions } from './lm-infinite.js';
import { VERSION } from './version.js';

export { lmInfiniteCapabilities, lmInfinitePlans, LMInfiniteAttention, type LambdaPlan, LMInfiniteOptions } from './lm-infinite.js';

export { VERSION } from './version.js';
export { clampGlobalDistances, hasFarGlobalPairs, ROTARY_KINDS } from './distance-limit.js';

export const LM_INFINITE_PAPER = {
  title: 'LM-Infinite: Zero-Shot Extreme Length Generalization for Large Language Models',
  arxiv: '2308.16137',
  year: 2023,
  url: 'https://arxiv.org/abs/2308.16137',
};

export default definePlugin({
  name: '@weft/attn-lm-infinite',
  version: VERSION,
  paper: LM_INFINITE_PAPER,
  description: 'LM-Infinite Λ-shaped attention mask (first nGlobal + last nLocal tokens) with the rotary distance limit, causal, O(n) memory.',
  provides: [
    attention('lm-infinite', {
      description: 'LM-Infinite Λ-shaped causal attention: the first nGlobal tokens plus the last nLocal (= pretraining length) tokens; no L×L tensor.',
      options: LMInfiniteOptions,
      capabilities: lmInfiniteCapabilities,
      check: (options, env) => {
        // The distance limit re-rotates q and k by position offsets: only additive rotations allow that.
        if (!options.distanceLimit || !env.positional || ROTARY_KINDS.includes(env.positional.kind)) return;
        if (!env.registry.capabilities('positional', env.positional).rotate) return;
        throw new ConfigError(
          `${env.path}.distanceLimit`,
          `true needs a rotary encoding whose rotations add up in position (${ROTARY_KINDS.join(', ')}), but the positional encoding is "${env.positional.kind}". Set "distanceLimit": false (true distances) or use positional "rope".`,
        );
      },
      create: (options, ctx) => {
        const layer = ctx.container.isRegistered(POSITIONAL, true) ? ctx.container.resolve(POSITIONAL) : undefined;
        const clamp = options.distanceLimit && layer?.encoding?.rotate && ROTARY_KINDS.includes(layer.config?.kind ?? '');
        return new LMInfiniteAttention(options, clamp ? layer!.encoding : undefined);
      },
    }),
  ],
});
