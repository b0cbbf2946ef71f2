/**
 * Handing the initial states — the first layer's attention input x_0 [B, L, D] — to the later
 * layers of the same forward (or decoding step) through `ctx.scratch`: the first layer leaves a
 * kept copy there with a count of its readers; each reader takes a handle and the last one frees
 * the copy and the scratch entry. Kept tensors stay on the gradient tape, so later layers train
 * through x_0.
 */
import { StateError, tf, type ForwardContext, type StepContext, type Tensor } from '@weft/core';

export const INITIAL_STATES = 'weft.heads-inattention.x0';

interface SharedStates {
  x0: Tensor; // [B, L, D], kept
  remaining: number;
}

export function publishInitialStates(x0: Tensor, readers: number, ctx: ForwardContext | StepContext): void {
  if (readers === 0) return;
  const stale = ctx.scratch.get(INITIAL_STATES) as SharedStates | undefined;
  if (stale) stale.x0.dispose(); // left by a forward that stopped early with the same scratch
  ctx.scratch.set(INITIAL_STATES, { x0: tf.keep(tf.clone(x0)), remaining: readers } satisfies SharedStates);
}

export function takeInitialStates(layerIndex: number, ctx: ForwardContext | StepContext): Tensor {
  const shared = ctx.scratch.get(INITIAL_STATES) as SharedStates | undefined;
  if (!shared) {
    throw new StateError(
      `Layer ${layerIndex} (InAttention) found no initial states in this forward: layer 0 must use headLayout "inattention" and run first (use model.forward / model.step, not one layer alone).`,
    );
  }
  const x0 = tf.clone(shared.x0); // share the data, not the handle
  if (--shared.remaining === 0) {
    shared.x0.dispose();
    ctx.scratch.delete(INITIAL_STATES);
  }
  return x0;
}
