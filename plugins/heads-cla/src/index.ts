/**
 * @weft/heads-cla: Cross-Layer Attention, "Reducing Transformer Key-Value Cache Size with
 * Cross-Layer Attention" (Brandon et al. 2024) arXiv:2405.12981.
 *
 * Provides the heads kind "cla" (./cla-heads.ts) and the kvCache kind "cla"
 * (./shared-kv-cache.ts), which stores keys/values only for the layers that produce them.
 */
import { definePlugin, heads, kvCache } from '@weft/core';
import { ClaOptions, createClaHeads } from './cla-heads.js';
import { claStore, roleOf } from './model-scope.js';
import { CrossLayerCacheFactory } from './shared-kv-cache.js';
import { VERSION } from './version.js';

export { ClaOptions, CrossLayerHeads } from './cla-heads.js';
export { ConsumerView, CrossLayerCacheFactory, ProducerCache } from './shared-kv-cache.js';
export { claStore, type ClaStore, type LayerRole, type ProducerRecord } from './model-scope.js';

export default definePlugin({
  name: '@weft/heads-cla',
  version: VERSION,
  paper: { title: 'Reducing Transformer Key-Value Cache Size with Cross-Layer Attention', arxiv: '2405.12981', year: 2024 },
  provides: [
    heads('cla', {
      description: 'Cross-layer attention: every `sharing`-th layer projects keys/values; the next sharing−1 layers reuse them.',
      options: ClaOptions,
      capabilities: { decode: true },
      create: (options, ctx) => createClaHeads(options, ctx),
    }),
    kvCache('cla', {
      description: 'KV cache for cross-layer attention: producer layers store K/V, the layers reusing them read that cache (⌈layers/s⌉ layers of K/V).',
      capabilities: { lossy: false },
      create: (_options, ctx) => new CrossLayerCacheFactory(roleOf(claStore(ctx.container), ctx.layerIndex, ctx.path)),
    }),
  ],
});
