/**
 * The decoding state of causal Cottention (arXiv 2409.15358, RNN form):
 *
 *   S_t = Σ_{j<t} k̂_jᵀ v_j / (j+1)^σ_h      [B, H, Dh, Dv]
 *   t                                        tokens folded in (the next value row's index)
 *
 * kept per QUERY head because σ_h = sigmoid(m_h) is per query head. 4·B·H·Dh·Dv bytes per layer,
 * whatever the context length. No normaliser vector: cosine attention has no denominator.
 */
import { type LayerState, type Tensor } from '@weft/core';

export class CottentionState implements LayerState {
  constructor(
    /** S, [B, H, Dh, Dv]; owned by this state (kept). */
    readonly S: Tensor,
    /** Tokens folded in so far. */
    readonly tokens: number,
  ) {}

  bytes(): number {
    return this.S.size * 4;
  }

  dispose(): void {
    this.S.dispose();
  }
}

/** Bytes of one layer's state: 4·B·H·Dh·Dv (float32). */
export function cottentionStateBytes(batch: number, heads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * heads * headDim * valueDim;
}
