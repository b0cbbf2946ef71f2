/**
 * @weft/kv-relay: RelayAttention for Efficient Large Language Model Serving with Long System
 * Prompts (Zhu et al. 2024) arXiv:2402.14808.
 *
 * Provides the kvCache kind "relay"; the merge identity lives in ./relay-math.ts and the cache
 * in ./relay-cache.ts.
 */
import { definePlugin, kvCache, z } from '@weft/core';
import { RelayKVCacheFactory } from './relay-cache.js';
import { VERSION } from './version.js';

export { attentionWithLse, relayMerge, repeatKvHeads, type AttentionWithLse, type DenseAttentionOptions } from './relay-math.js';
export { prefillSystemPrompt, relayAttend, RelayKVCache, RelayKVCacheFactory, setSystemPrompt } from './relay-cache.js';

/** No hyper-parameters: the system prompt is set per cache (setSystemPrompt / prefillSystemPrompt). */
export const RelayOptions = z.object({});
export type RelayOptions = z.output<typeof RelayOptions>;

export default definePlugin({
  name: '@weft/kv-relay',
  version: VERSION,
  paper: { title: 'RelayAttention for Efficient Large Language Model Serving with Long System Prompts', arxiv: '2402.14808', year: 2024 },
  provides: [
    kvCache('relay', {
      description: 'RelayAttention: one shared system-prompt KV (batch 1) plus per-request KV, merged by log-sum-exp (exact).',
      options: RelayOptions,
      capabilities: { lossy: false },
      create: () => new RelayKVCacheFactory(),
    }),
  ],
});
