/**
 * Handing the first layer's values V_1 to the later layers of the same forward (or decoding
 * step) through `ctx.scratch`: the first layer leaves a kept copy there with a count of its
 * readers; each reader takes a handle, and the last one frees the copy and the scratch entry.
 *
 * Shapes: B batch, H heads, L length (T new tokens when decoding), Dh head width.
 */
import { StateError, tf, type ForwardContext, type StepContext, type Tensor } from '@weft/core';

export const FIRST_VALUES = 'weft.heads-value-residual.V1';

interface SharedValues {
  v: Tensor; // [B, H, L, Dh], kept
  remaining: number;
}

/** Publish V_1 ([B, H, L, Dh]) for `readers` later layers; nothing when there are none. */
export function publishFirstValues(v: Tensor, readers: number, ctx: ForwardContext | StepContext): void {
  if (readers === 0) return;
  const stale = ctx.scratch.get(FIRST_VALUES) as SharedValues | undefined;
  if (stale) stale.v.dispose(); // a previous forward that stopped early (e.g. threw) with the same scratch
  ctx.scratch.set(FIRST_VALUES, { v: tf.keep(tf.clone(v)), remaining: readers } satisfies SharedValues);
}

/** Take V_1 for layer `layerIndex` ([B, H, L, Dh], owned by the caller). */
export function takeFirstValues(layerIndex: number, ctx: ForwardContext | StepContext): Tensor {
  const shared = ctx.scratch.get(FIRST_VALUES) as SharedValues | undefined;
  if (!shared) {
    throw new StateError(
      `Layer ${layerIndex} (value residual) found no first-layer values V_1 in this forward: layer 0 must use headLayout "resformer" or "svformer" and run first (use model.forward / model.step, not one layer alone).`,
    );
  }
  const v = tf.clone(shared.v); // share the data, not the handle
  if (--shared.remaining === 0) {
    shared.v.dispose();
    ctx.scratch.delete(FIRST_VALUES);
  }
  return v;
}
