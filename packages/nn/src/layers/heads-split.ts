/** Reshapes between [B, L, H·Dh] and per-head [B, H, L, Dh]. */
import { tf, type Tensor } from '@weft/core';

/** [B, L, H·Dh] -> [B, H, L, Dh] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, L, width] = x.shape;
  return tf.transpose(tf.reshape(x, [B, L, heads, width / heads]), [0, 2, 1, 3]);
}

/** [B, H, L, Dh] -> [B, L, H·Dh] */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, L, Dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, L, H * Dh]);
}

/**
 * Grouped-query attention: repeat each of Hkv heads H/Hkv times (head h reads kv head
 * floor(h / (H/Hkv))). A gather along the head axis, because tfjs 4.22 has no gradient for
 * the rank-5 tile the reshape-and-tile form needs.
 */
export function repeatKvHeads(x: Tensor, heads: number): Tensor {
  const Hkv = (x.shape as number[])[1];
  if (Hkv === heads) return x;
  const group = heads / Hkv;
  return tf.tidy(() => tf.gather(x, tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'), 1)); // [B, H, L, Dh]
}
