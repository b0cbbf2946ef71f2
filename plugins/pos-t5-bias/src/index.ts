/**
 * @weft/pos-t5-bias — T5's learned, log-bucketed relative position bias (Raffel et al. 2020).
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import t5Bias from '@weft/pos-t5-bias';
 * const model = buildModel(createRegistry().use(standard, t5Bias), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 't5-bias' },
 * });
 * ```
 */
import { definePlugin, positional, z } from '@weft/core';
import { bucketLayout } from './buckets.js';
import { T5RelativeBias } from './t5-bias.js';
import { VERSION } from './version.js';

export { T5RelativeBias, type T5BiasOptions } from './t5-bias.js';
export { relativePositionBucket, distanceBuckets, bucketLayout, type BucketOptions } from './buckets.js';
export { VERSION } from './version.js';

export const T5_PAPER = {
  title: 'Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer',
  arxiv: '1910.10683',
  year: 2020,
  url: 'https://arxiv.org/abs/1910.10683',
};

export const t5BiasOptions = z
  .object({
    /** N: number of buckets (T5: 32). */
    numBuckets: z.number().int().min(2).default(32),
    /** M: distances >= M share the last bucket (T5: 128). */
    maxDistance: z.number().int().positive().default(128),
    /** Separate buckets for keys after the query (encoders). Causal LMs: false. */
    bidirectional: z.boolean().default(false),
    /** One table per layer instead of T5's single shared table. */
    perLayer: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    const { perDirection, maxExact } = bucketLayout(o);
    if (o.bidirectional && o.numBuckets < 4) {
      ctx.addIssue({
        code: 'custom',
        path: ['numBuckets'],
        input: o.numBuckets,
        message: `bidirectional bucketing splits numBuckets between the two directions and needs at least 4; raise numBuckets (T5: 32) or set bidirectional: false`,
      });
    } else if (o.maxDistance <= maxExact) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxDistance'],
        input: o.maxDistance,
        message: `must exceed the exact-bucket region (${maxExact} = ${perDirection} buckets per direction / 2) so the log-spaced buckets have a range; raise maxDistance (T5: 128) or lower numBuckets`,
      });
    }
  });

export default definePlugin({
  name: '@weft/pos-t5-bias',
  version: VERSION,
  paper: T5_PAPER,
  description: 'T5 relative position bias: a learned [numBuckets, heads] table indexed by log-bucketed key-query distance.',
  provides: [
    positional('t5-bias', {
      description: 'Learned per-head scalar bias per log-spaced relative-distance bucket (T5), shared across layers by default.',
      options: t5BiasOptions,
      capabilities: (o) => ({ embed: false, rotate: false, bias: true, perLayer: o.perLayer }),
      create: (o, ctx) =>
        new T5RelativeBias(
          { numBuckets: o.numBuckets, maxDistance: o.maxDistance, bidirectional: o.bidirectional, heads: ctx.dims.heads, initStd: Math.pow(ctx.dims.dModel, -0.5) },
          ctx.rng,
        ),
    }),
  ],
});
