/**
 * Latte's decoding state after t tokens, per head h and latent state l (Dolga et al. 2024,
 * eq. for the causal recurrence), kept with a running maximum for numerical stability:
 *
 *   m_l = max_{s≤t} k_{s,l}                                   [B, H, L]
 *   α_l = Σ_{s≤t} exp(k_{s,l} − m_l) v_s                      [B, H, L, Dv]
 *   β_l = Σ_{s≤t} exp(k_{s,l} − m_l)                          [B, H, L]
 *
 * so that Σ_{s≤t} softmax_s(k_{s,l}) v_s = α_l / β_l. Its size is constant in t.
 */
import { tf, type LayerState, type Tensor } from '@weft/core';

export class LatteState implements LayerState {
  constructor(
    readonly m: Tensor,
    readonly alpha: Tensor,
    readonly beta: Tensor,
    readonly tokens: number,
  ) {}

  bytes(): number {
    return (this.m.size + this.alpha.size + this.beta.size) * 4;
  }

  dispose(): void {
    tf.dispose([this.m, this.alpha, this.beta]);
  }
}
