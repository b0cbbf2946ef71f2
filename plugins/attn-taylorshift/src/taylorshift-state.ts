/**
 * TaylorShift's decoding state after t tokens, per key/value head g (φ(k̂) depends on the key
 * alone — k̂ = k/‖k‖, or the raw k without `normalizeInput` — so grouped query heads share it):
 *
 *   S_t = Σ_{j≤t} φ(k̂_j)ᵀ [1, v_j]      [B, Hkv, F, 1 + Dv]   (F = 1 + d + d²)
 *
 * Column 0 is the normaliser Σ φ(k̂_j) (a query's denominator is φ(q̂)·S[:, 0]), columns 1..Dv
 * the numerator sums Σ φ(k̂_j) v_jᵀ. Decoding memory is 4·B·Hkv·F·(1 + Dv) bytes per layer,
 * whatever the context length.
 */
import { RunningState } from '@weft/core';

/** S, the running sum above, and the tokens folded into it (see RunningState). */
export class TaylorShiftState extends RunningState {}

/** Bytes of one layer's state: 4·B·Hkv·(1 + d + d²)·(1 + Dv) (float32). */
export function taylorShiftStateBytes(batch: number, kvHeads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * kvHeads * (1 + headDim + headDim * headDim) * (1 + valueDim);
}
