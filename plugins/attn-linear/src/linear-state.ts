/**
 * The decoding state of linear attention (Katharopoulos et al. 2020, eq. 18-20): after t tokens,
 *
 *   S_t = Σ_{j≤t} φ(k_j) v_jᵀ      [B, Hkv, Dh, Dv]   (eq. 10)
 *   z_t = Σ_{j≤t} φ(k_j)           [B, Hkv, Dh]       (eq. 11)
 *
 * kept per key/value head (grouped query heads share their kv head's sums), so decoding memory
 * is 4·B·Hkv·(Dh·Dv + Dh) bytes per layer whatever the context length. The attention mixer keeps
 * it instead of a KV cache because the kernel implements `initState`/`attendStep`.
 */
import { tf, type LayerState, type Tensor } from '@weft/core';

export class LinearAttentionState implements LayerState {
  constructor(
    /** Σ φ(k_j) v_jᵀ, [B, Hkv, Dh, Dv]; owned by this state (kept). */
    readonly S: Tensor,
    /** Σ φ(k_j), [B, Hkv, Dh]; owned by this state (kept). */
    readonly z: Tensor,
    /** Tokens folded in so far. */
    readonly tokens: number,
  ) {}

  bytes(): number {
    return (this.S.size + this.z.size) * 4;
  }

  dispose(): void {
    tf.dispose([this.S, this.z]);
  }
}

/** Bytes of one layer's state: 4·B·Hkv·(Dh·Dv + Dh) (float32). */
export function linearStateBytes(batch: number, kvHeads: number, headDim: number, valueDim = headDim): number {
  return 4 * batch * kvHeads * (headDim * valueDim + headDim);
}
