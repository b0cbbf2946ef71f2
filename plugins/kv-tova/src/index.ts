/**
 * @weft/kv-tova: TOVA, Transformers are Multi-State RNNs (Oren et al. 2024) arXiv:2401.06104.
 *
 * Provides the kvCache kind "tova"; the technique lives in ./tova-cache.ts.
 */
import { definePlugin, kvCache, z } from '@weft/core';
import { TovaKVCacheFactory } from './tova-cache.js';
import { VERSION } from './version.js';

export { TovaKVCache, TovaKVCacheFactory } from './tova-cache.js';

/** The paper's one hyper-parameter: the multi-state size (tokens kept per layer). */
export const TovaOptions = z.object({
  budget: z.number().int().positive(),
});
export type TovaOptions = z.output<typeof TovaOptions>;

export default definePlugin({
  name: '@weft/kv-tova',
  version: VERSION,
  paper: { title: 'Transformers are Multi-State RNNs', arxiv: '2401.06104', year: 2024 },
  provides: [
    kvCache('tova', {
      description: 'TOVA: keep at most `budget` tokens per layer, dropping the one the current query attends to least (head-averaged).',
      options: TovaOptions,
      capabilities: { lossy: true },
      create: (options) => new TovaKVCacheFactory(options.budget),
    }),
  ],
});
