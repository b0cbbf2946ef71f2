/**
 * ALiBi — Attention with Linear Biases (Press, Smith & Lewis, "Train Short, Test Long",
 * ICLR 2022, arXiv 2108.12409).
 *
 * Notation (paper → code):
 *   i, j        query and key positions (absolute, from the forward context)
 *   m_h         fixed, head-specific slope (`slopes[h]`, see slopes.ts)
 *   q_i K^T     attention logits, already multiplied by 1/sqrt(d) by the kernel
 *
 * Eq. (§3): softmax(q_i K^T + m · [-(i-1), ..., -2, -1, 0]). The bias row for query i is
 * -m_h (i - j) for keys j <= i. We return the symmetric form -m_h |i - j| (as x-transformers
 * does), which is identical under a causal mask and also defines a bidirectional bias.
 * There are no learned parameters and no position embedding is added to the input.
 *
 * The bias is computed from positions, one (query range, key range) tile at a time, so it
 * exists at any length and no L×L tensor is needed beyond the tile a kernel asks for.
 */
import { tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { alibiSlopes } from './slopes.js';

export class AlibiBias implements PositionalEncoding {
  /** m_1..m_H in head order. */
  readonly slopes: number[];

  constructor(readonly heads: number) {
    this.slopes = alibiSlopes(heads);
  }

  /**
   * qPositions [B, Lq'] and kPositions [B, Lk'] (int32) -> bias [B, H, Lq', Lk'] float32,
   * bias[b, h, i, j] = -m_h |qPos[b, i] - kPos[b, j]|.
   */
  bias(qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => {
      const i = tf.expandDims(tf.cast(qPositions, 'float32'), 2); // [B, Lq', 1]
      const j = tf.expandDims(tf.cast(kPositions, 'float32'), 1); // [B, 1, Lk']
      const distance = tf.expandDims(tf.abs(tf.sub(i, j)), 1); // [B, 1, Lq', Lk']
      const negSlopes = tf.tensor4d(this.slopes.map((m) => -m), [1, this.heads, 1, 1]); // [1, H, 1, 1]
      return tf.mul(distance, negSlopes); // [B, H, Lq', Lk']
    });
  }
}
