/**
 * Per-model bookkeeping of value residual learning: which layers read the first layer's values
 * V_1, and the first layer's KV cache that SVFormer's value-less caches read from.
 *
 * It lives in the model's container (`CreateContext.modelContainer`), shared by all the layers
 * of one model build and invisible to other models. Layers are built in order, so when a
 * forward runs, `readers` lists every layer that takes V_1 from the first layer.
 */
import type { DependencyContainer } from 'tsyringe';
import type { FirstLayerCache } from './single-value-cache.js';

export type ValueResidualKind = 'resformer' | 'svformer';

export class ValueResidualStore {
  /** Kind of each layer that uses a value-residual head layout, by layer index. */
  readonly kinds = new Map<number, ValueResidualKind>();
  /** Layers n ≥ 1 that read V_1 (in build order). */
  readonly readers: number[] = [];
  /** The first layer's cache created most recently (model.initCache creates layers in order). */
  latestFirstCache?: FirstLayerCache;
}

const stores = new WeakMap<object, ValueResidualStore>();

/** The store of the model whose container is `modelContainer`. */
export function valueResidualStore(modelContainer: DependencyContainer): ValueResidualStore {
  let store = stores.get(modelContainer);
  if (!store) {
    store = new ValueResidualStore();
    stores.set(modelContainer, store);
  }
  return store;
}
