/** Token-level cross-entropy. */
import { tf, type Tensor } from '@weft/core';

/**
 * mean over weighted positions of −log softmax(logits)[target].
 * logits [B, L, V], targets [B, L] int32, mask [B, L] float32 (default all ones).
 */
export function maskedCrossEntropy(logits: Tensor, targets: Tensor, mask?: Tensor): Tensor {
  return tf.tidy(() => {
    const V = logits.shape[logits.rank - 1];
    const logp = tf.logSoftmax(logits); // [B, L, V]
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(targets, 'int32'), V), logp), -1)); // [B, L]
    if (!mask) return tf.mean(nll);
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1));
  });
}
