/**
 * The decoding state of Lightning Attention (TransNormerLLM, arXiv 2307.14995, Sec. 3.3):
 * after t tokens,
 *
 *   KV_t = Σ_{j≤t} λ_h^(t−j) φ(k_j)ᵀ v_j      [B, H, Dh, Dv]   (kv_t = λ kv_{t−1} + k_tᵀ v_t)
 *
 * kept per QUERY head, because the decay λ_h is per query head (grouped query heads sharing a
 * kv head still decay differently). 4·B·H·Dh·Dv bytes per layer whatever the context length.
 * The attention mixer keeps it instead of a KV cache because the kernel implements
 * `initState`/`attendStep`.
 */
import type { LayerState, Tensor } from '@weft/core';

export class LightningState implements LayerState {
  constructor(
    /** KV_t, [B, H, Dh, Dv]; owned by this state (kept). */
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
export function lightningStateBytes(batch: number, heads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * heads * headDim * valueDim;
}
