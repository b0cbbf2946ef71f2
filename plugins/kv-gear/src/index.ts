/**
 * @weft/kv-gear: GEAR, An Efficient KV Cache Compression Recipe for Near-Lossless Generative
 * Inference of LLM (Kang et al. 2024) arXiv:2403.05527.
 *
 * Provides the kvCache kind "gear"; the compression lives in ./gear-compress.ts and the
 * streaming cache in ./gear-cache.ts.
 */
import { definePlugin, kvCache, z } from '@weft/core';
import { GearKVCacheFactory } from './gear-cache.js';
import { VERSION } from './version.js';

export { compressedBytes, gearBytes, gearCompress, gearReconstruct, outlierCount, type GearCompressed, type GearSettings, type QuantAxis } from './gear-compress.js';
export { GearKVCache, GearKVCacheFactory, type GearCacheSettings } from './gear-cache.js';

/** The paper's hyper-parameters: b bits, rank r, outlier ratio s (%), streaming buffer n_b. */
export const GearOptions = z.object({
  bits: z.number().int().min(1).max(8).default(4),
  rank: z.number().int().min(0).default(2),
  outlierPercent: z.number().min(0).lt(100).default(2),
  axis: z.enum(['token', 'channel']).default('token'),
  iters: z.number().int().positive().default(3),
  buffer: z.number().int().positive().default(16),
  seed: z.number().int().default(0),
});
export type GearOptions = z.output<typeof GearOptions>;

export default definePlugin({
  name: '@weft/kv-gear',
  version: VERSION,
  paper: { title: 'GEAR: An Efficient KV Cache Compression Recipe for Near-Lossless Generative Inference of LLM', arxiv: '2403.05527', year: 2024 },
  provides: [
    kvCache('gear', {
      description: 'GEAR: b-bit uniform quantisation + rank-r residual + s% exact outliers per n_b-token chunk of keys/values (lossy).',
      options: GearOptions,
      capabilities: { lossy: true },
      create: (options) => new GearKVCacheFactory(options),
    }),
  ],
});
