/**
 * InAttention's per-model bookkeeping, in the model's container (`CreateContext.modelContainer`):
 * the layers that read the initial states. Layers are built in order, so by the time a forward
 * runs the list is complete.
 */
import type { DependencyContainer } from 'tsyringe';

export class InAttentionStore {
  /** Layer 0 uses headLayout "inattention" (it provides the initial states). */
  hasFirstLayer = false;
  /** Layers ≥ 1 that project K/V from the initial states. */
  readonly readers: number[] = [];
}

const stores = new WeakMap<object, InAttentionStore>();

export function inAttentionStore(modelContainer: DependencyContainer): InAttentionStore {
  let store = stores.get(modelContainer);
  if (!store) {
    store = new InAttentionStore();
    stores.set(modelContainer, store);
  }
  return store;
}
