/**
 * Where CLA's per-model bookkeeping lives: which layers produce K/V, which reuse them, and the
 * producer caches the reusing layers' caches read from.
 *
 * The builder hands every layer its own child of the model's container, so a service one layer
 * registers is invisible to its siblings. Until core exposes the model-level container (see the
 * README's "Compatibility"), the store is kept per PARENT container — the model's — found
 * through tsyringe's `parent` link; standalone builds (no parent) use the container itself.
 */
import { StateError } from '@weft/core';
import type { DependencyContainer } from 'tsyringe';
import type { ProducerCache } from './shared-kv-cache.js';

export interface ProducerRecord {
  /** The sharing factor s the producer was configured with. */
  sharing: number;
  /** Indices of the layers that reuse this producer's K/V (filled as they are built). */
  consumers: number[];
  /** The cache this producer created most recently (model.initCache creates layers in order). */
  latestCache?: ProducerCache;
}

export interface LayerRole {
  role: 'producer' | 'consumer';
  producer: number;
  record: ProducerRecord;
}

export class ClaStore {
  readonly producers = new Map<number, ProducerRecord>();
  readonly roles = new Map<number, LayerRole>();
}

const stores = new WeakMap<object, ClaStore>();

/** The CLA store of the model that `layerContainer` belongs to. */
export function claStore(layerContainer: DependencyContainer): ClaStore {
  const parent = (layerContainer as unknown as { parent?: DependencyContainer }).parent;
  const scope: object = parent ?? layerContainer;
  let store = stores.get(scope);
  if (!store) {
    store = new ClaStore();
    stores.set(scope, store);
  }
  return store;
}

export function roleOf(store: ClaStore, layerIndex: number, path: string): LayerRole {
  const role = store.roles.get(layerIndex);
  if (!role) {
    throw new StateError(`${path}: kvCache "cla" shares caches between the layers of a cross-layer attention group, but layer ${layerIndex} does not use headLayout "cla". Use headLayout { "kind": "cla" } in the same layer, or kvCache "full".`);
  }
  return role;
}
