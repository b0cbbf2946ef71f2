/**
 * The decoding cache of a whole model: one LayerState per layer (a KV cache for attention,
 * a recurrent state for SSM/RNN mixers, memory tokens...) plus the number of tokens seen.
 * It owns its tensors: call `dispose()` when done.
 */
import { StateError, type LayerState } from '@weft/core';

export class ModelCache {
  private disposed = false;
  constructor(
    private states: LayerState[],
    public position = 0,
  ) {}

  get layers(): readonly LayerState[] {
    this.assertAlive();
    return this.states;
  }

  /** Replace layer i's state with the state its step returned. */
  set(i: number, state: LayerState): void {
    this.assertAlive();
    this.states[i] = state;
  }

  /** Bytes of tensor data held by every layer's state. */
  bytes(): number {
    this.assertAlive();
    return this.states.reduce((n, s) => n + s.bytes(), 0);
  }

  dispose(): void {
    if (this.disposed) return;
    for (const s of this.states) s.dispose();
    this.states = [];
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new StateError('This ModelCache was disposed; create a new one with model.initCache(batch).');
  }
}
