/**
 * @weft/heads-mlkv: Multi-Layer Key-Value heads, "MLKV: Multi-Layer Key-Value Heads for Memory
 * Efficient Transformer Decoding" (Zuhri et al. 2024) arXiv:2406.09297.
 *
 * Provides the heads kind "mlkv" (./mlkv.ts) and the kvCache kind "mlkv", which stores keys and
 * values once per layer group (@weft/heads-cla's producer/consumer caches).
 */
import { definePlugin, heads, kvCache } from '@weft/core';
import { CrossLayerCacheFactory } from '@weft/heads-cla';
import { MlkvHeads, MlkvOptions } from './mlkv.js';
import { mlkvRole, mlkvStore } from './model-scope.js';
import { VERSION } from './version.js';

export { groupStarts, MlkvHeads, MlkvOptions, type MlkvBuild } from './mlkv.js';
export { mlkvRole, mlkvStore, MlkvStore } from './model-scope.js';

export default definePlugin({
  name: '@weft/heads-mlkv',
  version: VERSION,
  paper: { title: 'MLKV: Multi-Layer Key-Value Heads for Memory Efficient Transformer Decoding', arxiv: '2406.09297', year: 2024 },
  provides: [
    heads('mlkv', {
      description: 'Multi-layer key/value heads: the first layer of each group of layers projects kvHeads key/value heads that the whole group attends to.',
      options: MlkvOptions,
      capabilities: { decode: true },
      create: (options, ctx) => new MlkvHeads(options, { ...ctx, store: mlkvStore(ctx.modelContainer) }),
    }),
    kvCache('mlkv', {
      description: 'KV cache for MLKV: the first layer of each group stores K/V, the other layers of the group read it.',
      capabilities: { lossy: false },
      create: (_options, ctx) => new CrossLayerCacheFactory(mlkvRole(mlkvStore(ctx.modelContainer), ctx.layerIndex, ctx.path)),
    }),
  ],
});
