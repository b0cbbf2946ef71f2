/**
 * MLKV's per-model bookkeeping, in the model's container (`CreateContext.modelContainer`):
 * the same producer/consumer records as @weft/heads-cla (so its KV caches can be reused), plus
 * the `groups` spec each producer was built with, to refuse layers that disagree.
 */
import { StateError } from '@weft/core';
import type { LayerRole, ProducerRecord } from '@weft/heads-cla';
import type { DependencyContainer } from 'tsyringe';

export class MlkvStore {
  /** Each group's first layer ("producer" in @weft/heads-cla's terms) and the layers reusing its K/V. */
  readonly producers = new Map<number, ProducerRecord>();
  readonly roles = new Map<number, LayerRole>();
  /** JSON of the `groups` option each group's first layer was built with. */
  readonly groups = new Map<number, string>();
}

const stores = new WeakMap<object, MlkvStore>();

export function mlkvStore(modelContainer: DependencyContainer): MlkvStore {
  let store = stores.get(modelContainer);
  if (!store) {
    store = new MlkvStore();
    stores.set(modelContainer, store);
  }
  return store;
}

export function mlkvRole(store: MlkvStore, layerIndex: number, path: string): LayerRole {
  const role = store.roles.get(layerIndex);
  if (!role) {
    throw new StateError(`${path}: kvCache "mlkv" shares caches between the layers of an MLKV group, but layer ${layerIndex} does not use headLayout "mlkv". Use headLayout { "kind": "mlkv" } in the same layer, or kvCache "full".`);
  }
  return role;
}
