/**
 * Causal depthwise 1-D convolution with a carried window state, the short convolution in front
 * of conv-then-scan / gated-conv mixers (Mamba, Longhorn, Hyena, H3). tfjs has no depthwise
 * conv1d with left padding and a carried state, so it is written as K shifted multiply-adds.
 *
 * Notation (B batch, L length, E channels, K kernel width, j = K−1−k the lag of tap k):
 *   PyTorch:  nn.Conv1d(E, E, K, groups=E, padding=K−1)(x)[..., :L]
 *   y_t[e] = bias[e] + Σ_{k=0}^{K−1} w[k, e] · x_{t−(K−1)+k}[e]                         [B, L, E]
 *            (x_{<0} = the carried state: the K−1 inputs before x, zeros at the start)
 *   state' = the last K−1 inputs of concat(state, x)                                  [B, K−1, E]
 * With segment ids (packed sequences, ./segment-resets.ts) tap k is dropped at t wherever
 * cross_j[t] = 1 (token t − j belongs to another sequence):
 *   y_t[e] = bias[e] + Σ_k (1 − cross_{K−1−k}[t]) · w[k, e] · x_{t−(K−1)+k}[e]
 * A carried state counts as part of the row's first segment (continuing a sequence).
 * Weights are stored [K, E] (torch's conv1d.weight [E, 1, K] transposed).
 *
 * Training runs all L positions at once; decoding calls the same function on the T new tokens
 * with the window state of the previous call (the state/step form). Gradients are tfjs's for
 * the plain ops used (slice, concat, mul, add), with respect to x, weight, bias and state.
 */
import { tf, type Tensor } from '@weft/core';
import { crossesSegment } from './segment-resets.js';

function conv(x: Tensor, weight: Tensor, bias: Tensor | undefined, state: Tensor | undefined, segmentIds: Tensor | undefined): { y: Tensor; state: Tensor } {
  if (x.rank !== 3 || weight.rank !== 2 || weight.shape[1] !== x.shape[2]) {
    throw new RangeError(`causalConv1d: x must be [B, L, E] and weight [K, E]; got x [${x.shape}], weight [${weight.shape}]`);
  }
  const [B, L, E] = x.shape as [number, number, number];
  const K = weight.shape[0] as number;
  if (state && state.shape.join(',') !== [B, K - 1, E].join(',')) {
    throw new RangeError(`causalConv1d: state must be [B, K−1, E] = [${[B, K - 1, E]}] (the last K−1 inputs); got [${state.shape}]`);
  }
  if (segmentIds && segmentIds.shape.join(',') !== [B, L].join(',')) {
    throw new RangeError(`causalConv1d: segmentIds must be [B, L] = [${[B, L]}]; got [${segmentIds.shape}]`);
  }
  return tf.tidy(() => {
    const prev = state ?? tf.zeros([B, K - 1, E]);
    const padded = tf.concat([prev, x], 1); // [B, K−1+L, E]
    let y: Tensor = tf.zeros([B, L, E]);
    for (let k = 0; k < K; k++) {
      const j = K - 1 - k; // lag of tap k
      const tap = tf.reshape(tf.slice(weight, [k, 0], [1, E]), [E]); // w[k]  [E]
      let term = tf.mul(tf.slice(padded, [0, k, 0], [B, L, E]), tap); // w[k] · x_{t−j}  [B, L, E]
      if (segmentIds && j > 0 && j < L) term = tf.mul(term, tf.reshape(tf.sub(1, crossesSegment(segmentIds, j)), [B, L, 1])); // drop taps that cross
      y = tf.add(y, term);
    }
    if (bias) y = tf.add(y, bias);
    const next = tf.slice(padded, [0, L, 0], [B, K - 1, E]); // last K−1 inputs  [B, K−1, E]
    return { y, state: next };
  });
}

/**
 * x [B, L, E], weight [K, E], bias [E] or undefined, state [B, K−1, E] (the K−1 inputs before
 * x; zeros when omitted). Returns y [B, L, E] and the next state [B, K−1, E] (last K−1 inputs).
 */
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor, state?: Tensor): { y: Tensor; state: Tensor } {
  return conv(x, weight, bias, state, undefined);
}

/**
 * The causal conv over packed sequences: every tap that reaches into another segment
 * (segmentIds [B, L]) is removed. Returns y [B, L, E]; pass `state` to continue the row's
 * first sequence from a previous chunk.
 */
export function segmentCausalConv1d(x: Tensor, weight: Tensor, bias: Tensor | undefined, segmentIds: Tensor, state?: Tensor): Tensor {
  return tf.tidy(() => conv(x, weight, bias, state, segmentIds).y);
}
