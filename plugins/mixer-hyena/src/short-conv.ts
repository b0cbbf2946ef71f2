/**
 * Short causal depthwise convolution of the Hyena projections (reference: nn.Conv1d(C, C, K,
 * padding=K−1, groups=C)(x)[..., :L], K = 3).
 *
 * Notation: B batch, L length, C channels, K width.
 *   y_t[c] = bias[c] + Σ_{j=0}^{K−1} w[j, c] · x_{t−(K−1)+j}[c]        (x_{<0} = 0)
 * Weights are stored [K, C] (torch's weight [C, 1, K] transposed).
 */
import { tf, type Tensor } from '@weft/core';

export function shortCausalConv(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const [B, L, C] = x.shape as [number, number, number];
  const K = weight.shape[0]!;
  return tf.tidy(() => {
    const padded = tf.concat([tf.zeros([B, K - 1, C]), x], 1); // [B, K−1+L, C]
    let y: Tensor = tf.add(tf.zeros([B, L, C]), bias);
    for (let j = 0; j < K; j++) {
      y = tf.add(y, tf.mul(tf.slice(padded, [0, j, 0], [B, L, C]), tf.reshape(tf.slice(weight, [j, 0], [1, C]), [C])));
    }
    return y;
  });
}
