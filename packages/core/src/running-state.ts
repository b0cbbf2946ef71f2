/**
 * The decoding state of a recurrent (linear-attention style) kernel: one running-sum tensor
 * S — e.g. Σ_j φ(k_j)ᵀ [v_j, 1] — and the number of tokens folded into it. Kernels subclass it
 * (`class LightningState extends RunningState {}`) so `attendStep` can tell its own state
 * from another kernel's with `instanceof`.
 */
import type { Tensor } from './tfjs.js';
import type { LayerState } from './slots.js';

export class RunningState implements LayerState {
  constructor(
    /** The running sum; owned by this state (kept). */
    readonly S: Tensor,
    /** Tokens folded in so far. */
    readonly tokens: number,
  ) {}

  bytes(): number {
    return this.S.size * 4; // float32
  }

  dispose(): void {
    this.S.dispose();
  }
}
