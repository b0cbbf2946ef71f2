/**
 * Causal depthwise 1-D convolution (tfjs has no depthwise conv1d with left padding and a
 * carried state). Candidate for a shared package: any conv-before-scan mixer needs it.
 *
 * Notation: K kernel width (d_conv), E channels.
 *   PyTorch: nn.Conv1d(E, E, K, groups=E, padding=K−1)(x)[..., :L]
 *   y_t[e] = bias[e] + sum_{k=0}^{K−1} w[k, e] · x_{t−(K−1)+k}[e]      (x_{<0} = state or 0)
 * Weights are stored [K, E] (torch's conv1d.weight [E, 1, K] transposed).
 */
import { tf, type Tensor } from '@weft/core';

/**
 * x [B, L, E], weight [K, E], bias [E] or undefined, state [B, K−1, E] (the K−1 inputs before
 * x; zeros when omitted). Returns y [B, L, E] and the next state [B, K−1, E] (last K−1 inputs).
 */
export function causalConv1d(x: Tensor, weight: Tensor, bias: Tensor | undefined, state?: Tensor): { y: Tensor; state: Tensor } {
  const [B, L, E] = x.shape as [number, number, number];
  const K = weight.shape[0];
  return tf.tidy(() => {
    const prev = state ?? tf.zeros([B, K - 1, E]);
    const padded = tf.concat([prev, x], 1); // [B, K−1+L, E]
    let y: Tensor = tf.zeros([B, L, E]);
    for (let k = 0; k < K; k++) {
      const tap = tf.reshape(tf.slice(weight, [k, 0], [1, E]), [E]); // [E]
      y = tf.add(y, tf.mul(tf.slice(padded, [0, k, 0], [B, L, E]), tap)); // x_{t−(K−1)+k} · w[k]
    }
    if (bias) y = tf.add(y, bias);
    const next = tf.slice(padded, [0, L, 0], [B, K - 1, E]); // [B, K−1, E]
    return { y, state: next };
  });
}
