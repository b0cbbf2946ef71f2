/**
 * The decoding state of causal Cottention (arXiv 2409.15358, RNN form):
 *
 *   S_t = Σ_{j<t} k̂_jᵀ v_j / (j+1)^σ_h      [B, H, Dh, Dv]
 *   t                                        tokens folded in (the next value row's index)
 *
 * kept per QUERY head because σ_h = sigmoid(m_h) is per query head. 4·B·H·Dh·Dv bytes per layer,
 * whatever the context length. No normaliser vector: cosine attention has no denominator.
 */
import { RunningState } from '@weft/core';

/** S, the running sum above, and the tokens folded into it (see RunningState). */
export class CottentionState extends RunningState {}

/** Bytes of one layer's state: 4·B·H·Dh·Dv (float32). */
export function cottentionStateBytes(batch: number, heads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * heads * headDim * valueDim;
}
