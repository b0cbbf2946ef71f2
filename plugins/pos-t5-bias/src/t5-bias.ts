/**
 * T5 relative position bias (Raffel et al., "Exploring the Limits of Transfer Learning with a
 * Unified Text-to-Text Transformer", JMLR 2020, arXiv 1910.10683, §2.1; also LongT5).
 *
 * Notation:
 *   B batch, H query heads, Lq'/Lk' the query/key tile lengths
 *   r = j - i        relative position (key position minus query position)
 *   bucket(r)        log-bucketed distance, see buckets.ts
 *   W ∈ R^{N×H}      the learned table `relative_attention_bias` (N = numBuckets)
 *
 *   bias[b, h, i, j] = W[bucket(kPos[b, j] - qPos[b, i]), h]       (added to the logits)
 *
 * "Each head uses a different learned position embedding", and the table is shared across
 * layers (T5 computes it in the first layer and reuses it); `perLayer: true` gives each layer
 * its own table instead.
 */
import { Module, init, tf, type ForwardContext, type PositionalEncoding, type Rng, type Tensor } from '@weft/core';
import { bucketLayout, distanceBuckets, type BucketOptions } from './buckets.js';

export interface T5BiasOptions extends BucketOptions {
  heads: number;
  /** Std of the table's normal init (T5 / HF: dModel^-1/2). */
  initStd: number;
}

export class T5RelativeBias extends Module implements PositionalEncoding {
  /** W: [numBuckets, H]. */
  readonly table: tf.Variable;
  private readonly distanceTable: Int32Array;

  constructor(readonly options: T5BiasOptions, rng: Rng) {
    super();
    this.table = this.addParameter('relative_attention_bias', [options.numBuckets, options.heads], init.normal(options.initStd), rng);
    this.distanceTable = distanceBuckets(options);
  }

  /** Bucket ids [B, Lq', Lk'] int32 of r = kPos - qPos. */
  buckets(qPositions: Tensor, kPositions: Tensor): Tensor {
    return tf.tidy(() => {
      const { numBuckets, maxDistance, bidirectional } = this.options;
      const r = tf.sub(tf.expandDims(kPositions, 1), tf.expandDims(qPositions, 2)); // [B, Lq', Lk'] int32
      const lookup = tf.tensor1d(this.distanceTable, 'int32'); // [M + 1]
      const zero = tf.scalar(0, 'int32');
      const cap = tf.scalar(maxDistance, 'int32');
      if (!bidirectional) {
        const n = tf.minimum(tf.maximum(tf.neg(r), zero), cap); // causal: only the past has distance
        return tf.gather(lookup, n); // [B, Lq', Lk']
      }
      const { perDirection } = bucketLayout({ numBuckets, bidirectional });
      const n = tf.minimum(tf.abs(r), cap);
      const future = tf.mul(tf.cast(tf.greater(r, zero), 'int32'), tf.scalar(perDirection, 'int32')); // keys after the query: upper half
      return tf.add(future, tf.gather(lookup, n)); // [B, Lq', Lk']
    });
  }

  /** qPositions [B, Lq'], kPositions [B, Lk'] -> bias [B, H, Lq', Lk'] float32. */
  bias(qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => {
      const ids = this.buckets(tf.cast(qPositions, 'int32'), tf.cast(kPositions, 'int32')); // [B, Lq', Lk']
      const values = tf.gather(this.table, ids); // [B, Lq', Lk', H]
      return tf.transpose(values, [0, 3, 1, 2]); // [B, H, Lq', Lk']
    });
  }
}
