/**
 * Log-length scaled attention (Chiang & Cholak, "Overcoming a Theoretical Limitation of
 * Self-Attention", ACL 2022, arXiv 2202.12172, §6): multiply the attention logits by log n,
 * n the number of positions attended to, so that a query can keep focusing on one position
 * as n grows (Hahn's lemma: without it, attention to a single token is diluted like 1/n and
 * the model's confidence decays with length).
 *
 *   logits_ij = log_β(n_i) / Z · (q_i · k_j) / sqrt(Dh)
 *
 * Notation (paper → code):
 *   n_i   keys visible to query i: causal → position(i) + 1 (positions restart per packed
 *         sequence, so this counts within the sequence); bidirectional → the row's unpadded
 *         length (sum of the padding mask), else Lk
 *   β     `base` of the log (paper: natural log, β = e)
 *   Z     1, or log_β(trainLength) when `trainLength` is set (an extension, not in the paper:
 *         the factor is then exactly 1 at the training length, so a model trained without
 *         scaling can be switched to it at inference)
 *
 * Per query row, not per head: the `logitScale` hook can only return a scalar or [H], which
 * cannot express n_i in a causal model. Instead the factor multiplies q's row i after any
 * inner rotation, which multiplies row i of the logits by exactly the same number; a bias
 * from an inner encoding is added unscaled, as with `logitScale`.
 */
import { tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { TemperatureEncoding } from './wrap.js';

export interface LognParams {
  base: number;
  trainLength?: number;
}

export class LognScaling extends TemperatureEncoding {
  readonly base: number;
  readonly trainLength?: number;

  constructor(params: LognParams, inner?: PositionalEncoding) {
    super(inner);
    this.base = params.base;
    this.trainLength = params.trainLength;
    this.rotate = (q, k, qPositions, kPositions, ctx) => {
      const [q2, k2] = inner?.rotate ? inner.rotate(q, k, qPositions, kPositions, ctx) : [q, k];
      const out = tf.tidy(() => tf.mul(q2, this.rowScale(qPositions, kPositions, ctx))); // [B, H, Lq, Dh]
      if (q2 !== q) q2.dispose();
      return [out, k2 === k ? tf.clone(k) : k2]; // always hand back new tensors
    };
  }

  /** Z: log_β(trainLength), or 1. */
  private get normaliser(): number {
    return this.trainLength === undefined ? 1 : Math.log(this.trainLength) / Math.log(this.base);
  }

  /** n_i per query row: [B, Lq] float32. */
  visibleKeys(qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, Lq] = qPositions.shape as [number, number];
      if (ctx.causal) return tf.add(tf.cast(qPositions, 'float32'), 1); // [B, Lq]
      const n = ctx.paddingMask ? tf.sum(ctx.paddingMask, 1) : tf.fill([B], (kPositions.shape as number[])[1]); // [B]
      return tf.tile(tf.reshape(n, [B, 1]), [1, Lq]); // [B, Lq]
    });
  }

  /** log_β(n_i) / Z as [B, 1, Lq, 1], ready to multiply q [B, H, Lq, Dh]. */
  rowScale(qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, Lq] = qPositions.shape as [number, number];
      const n = tf.maximum(this.visibleKeys(qPositions, kPositions, ctx), 1); // [B, Lq] (n ≥ 1)
      const s = tf.div(tf.log(n), Math.log(this.base) * this.normaliser); // log_β(n) / Z
      return tf.reshape(s, [B, 1, Lq, 1]); // [B, 1, Lq, 1]
    });
  }

  protected ownScale(): number {
    return 1;
  }
}
