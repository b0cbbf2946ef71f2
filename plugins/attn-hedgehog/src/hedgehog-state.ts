/**
 * Hedgehog's decoding state after t tokens, per query head h (the feature map is per head, so
 * grouped key/value heads are expanded before φ and the state is kept per query head):
 *
 *   S_t = Σ_{j≤t} φ(k_j) [v_j, 1]ᵀ      [B, H, F, Dv + 1]   (F = 2·Dh)
 *
 * Its first Dv columns are the numerator sums Σ φ(k_j) v_jᵀ, the last the normaliser Σ φ(k_j).
 * Decoding memory is 4·B·H·F·(Dv + 1) bytes per layer, whatever the context length.
 */
import { RunningState } from '@weft/core';

/** S, the running sum above, and the tokens folded into it (see RunningState). */
export class HedgehogState extends RunningState {}

/** Bytes of one layer's state: 4·B·H·2Dh·(Dv + 1) (float32). */
export function hedgehogStateBytes(batch: number, heads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * heads * 2 * headDim * (valueDim + 1);
}
