/**
 * Packed sequences (segment ids) for causal sequence primitives: which earlier tokens belong to
 * another packed sequence, so that neither a convolution tap nor a carried state crosses the
 * boundary between two sequences packed into one row.
 *
 * Notation (B batch, L length, j lag = how many steps back a token looks):
 *   seg_t                                    segment id of token t                      [B, L]
 *   cross_j[t] = 1 iff t ≥ j and seg_t ≠ seg_{t−j}   (token t−j is in another sequence)  [B, L]
 *   start_t    = cross_1[t]                  (1 where a new sequence starts, t > 0)      [B, L]
 * A recurrence h_t = a_t ⊙ h_{t−1} + b_t restarts from zero at a start by setting a_t = 0
 * (./linear-scan.ts, ./log-scan.ts); a causal conv drops every tap j with cross_j[t] = 1
 * (./causal-conv1d.ts). Tokens with t < j have no token t − j, so cross_j[t] = 0 there.
 */
import { tf, type Tensor } from '@weft/core';

/** [B, L] float32: 1 where token t − lag exists and belongs to another segment than token t. */
export function crossesSegment(segmentIds: Tensor, lag: number): Tensor {
  return tf.tidy(() => {
    const [B, L] = segmentIds.shape as [number, number];
    if (lag >= L) return tf.zeros([B, L]);
    const now = tf.slice(segmentIds, [0, lag], [B, L - lag]); // seg_t for t ≥ lag  [B, L − lag]
    const before = tf.slice(segmentIds, [0, 0], [B, L - lag]); // seg_{t−lag}  [B, L − lag]
    return tf.concat([tf.zeros([B, lag]), tf.cast(tf.notEqual(now, before), 'float32')], 1); // [B, L]
  });
}

/** [B, L] segment ids -> [B, L] float32, 1 where a new segment starts (t > 0 and seg_t ≠ seg_{t−1}). */
export function segmentStarts(segmentIds: Tensor): Tensor {
  return crossesSegment(segmentIds, 1);
}
