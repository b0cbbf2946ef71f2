/**
 * A gradient computed from inside another gradient's recording or backward pass. tfjs keeps
 * one global tape: `engine.gradients` started there would reset it and, when done, clear it —
 * the outer pass still needs it (to dispose its saved tensors, or to keep recording). Custom
 * gradients that recompute a piece of the forward (FlashAttention's bias, block-sparse chunks)
 * run that piece on a tape of their own through `withOwnTape`.
 */
import { tf } from './tfjs.js';
import type { Tensor } from './tfjs.js';

/** A recorded op on tfjs's tape (the fields Weft reads; tfjs-core 4.22). */
export interface TapeNodeLike {
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
}

/** The fields of tfjs's engine state that a private tape changes (tfjs-core 4.22). */
export interface TapeState {
  activeTape: TapeNodeLike[] | null;
  gradientDepth: number;
}

/** Runs `f` with tfjs's tape swapped for a fresh one, restoring the outer tape state afterwards. */
export function withOwnTape<T>(f: (state: TapeState) => T): T {
  const state = tf.engine().state as unknown as TapeState;
  const outer = { tape: state.activeTape, depth: state.gradientDepth };
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return f(state);
  } finally {
    state.activeTape = outer.tape;
    state.gradientDepth = outer.depth;
  }
}
