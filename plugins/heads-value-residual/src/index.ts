/**
 * @weft/heads-value-residual: value residual learning, "Value Residual Learning For Alleviating
 * Attention Concentration In Transformers" (Zhou et al. 2024) arXiv:2410.17897.
 *
 * Provides the heads kinds "resformer" and "svformer" (./value-residual.ts) and the kvCache kind
 * "svformer" (./single-value-cache.ts), which stores keys per layer and the values V_1 once.
 */
import { ConfigError, definePlugin, heads, kvCache } from '@weft/core';
import { valueResidualStore } from './model-scope.js';
import { SingleValueCacheFactory } from './single-value-cache.js';
import { ResFormerOptions, SvFormerOptions, ValueResidualHeads } from './value-residual.js';
import { VERSION } from './version.js';

export { ResFormerOptions, SvFormerOptions, ValueResidualHeads, type ValueResidualBuild } from './value-residual.js';
export { FirstLayerCache, KeysOnlyCache, SingleValueCacheFactory } from './single-value-cache.js';
export { valueResidualStore, ValueResidualStore, type ValueResidualKind } from './model-scope.js';
export { FIRST_VALUES, publishFirstValues, takeFirstValues } from './first-values.js';

export default definePlugin({
  name: '@weft/heads-value-residual',
  version: VERSION,
  paper: { title: 'Value Residual Learning For Alleviating Attention Concentration In Transformers', arxiv: '2410.17897', year: 2024 },
  provides: [
    heads('resformer', {
      description: 'ResFormer: each layer after the first attends to λ1·V_n + λ2·V_1, a residual of the first layer\'s values (λ = 0.5/0.5 or learnable).',
      options: ResFormerOptions,
      capabilities: { decode: true },
      create: (options, ctx) => new ValueResidualHeads('resformer', options, { ...ctx, store: valueResidualStore(ctx.modelContainer) }),
    }),
    heads('svformer', {
      description: 'SVFormer: every layer attends to the first layer\'s values V_1 (only layer 0 projects V); pair with kvCache "svformer".',
      options: SvFormerOptions,
      capabilities: { decode: true },
      create: (options, ctx) => new ValueResidualHeads('svformer', options, { ...ctx, store: valueResidualStore(ctx.modelContainer) }),
    }),
    kvCache('svformer', {
      description: 'KV cache for SVFormer: keys for every layer, the values V_1 once (layer 0\'s).',
      capabilities: { lossy: false },
      create: (_options, ctx) => {
        const store = valueResidualStore(ctx.modelContainer);
        const kind = store.kinds.get(ctx.layerIndex);
        if (ctx.layerIndex > 0 && kind !== 'svformer') {
          throw new ConfigError(
            ctx.path,
            `kvCache "svformer" stores no values for layer ${ctx.layerIndex}, which needs its own (headLayout ${kind ? `"${kind}"` : 'is not a value-residual layout'}). ` +
              'Use headLayout { "kind": "svformer" } in this layer, or kvCache "full".',
          );
        }
        return new SingleValueCacheFactory(store);
      },
    }),
  ],
});
