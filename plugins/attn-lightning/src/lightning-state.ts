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
import { RunningState } from '@weft/core';

/** S, the running sum above, and the tokens folded into it (see RunningState). */
export class LightningState extends RunningState {}

/** Bytes of one layer's state: 4·B·H·Dh·Dv (float32). */
export function lightningStateBytes(batch: number, heads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * heads * headDim * valueDim;
}
