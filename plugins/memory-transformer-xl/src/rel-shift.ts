/**
 * Transformer-XL's `_rel_shift` (arXiv:1901.02860, App. B): turns scores computed against the
 * relative encodings R_{K-1}, ..., R_0 (column c ↔ distance K-1-c) into scores addressed by key
 * index j (distance i + M - j), by padding one zero column on the left and re-reading the
 * buffer with the two last axes swapped.
 *
 *   in  [B, H, Lq, K]: x[i, c] = score of query i against R_{K-1-c}
 *   out [B, H, Lq, K]: out[i, j] = x[i, j + Lq - 1 - i]  for j <= i + M (M = K - Lq); the
 *                      masked entries j > i + M hold values that the causal mask discards.
 */
import { tf, type Tensor } from '@weft/core';

export function relShift(x: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, K] = x.shape as [number, number, number, number];
    const padded = tf.pad(x, [[0, 0], [0, 0], [0, 0], [1, 0]]); // [B, H, Lq, K+1]
    const viewed = tf.reshape(padded, [B, H, K + 1, Lq]); // [B, H, K+1, Lq]
    const dropped = tf.slice(viewed, [0, 0, 1, 0], [B, H, K, Lq]); // [B, H, K, Lq]
    return tf.reshape(dropped, [B, H, Lq, K]); // [B, H, Lq, K]
  });
}
