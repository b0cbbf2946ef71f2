/**
 * SVFormer's KV cache (Zhou et al. 2024, §3 "SVFormer"): every layer attends with its own keys
 * K_n but to the same values V_1, so the decoder stores K for each of the N layers and V once:
 *   bytes = N · (B·H·Lc·Dh) · 4   (keys)   +   B·H·Lc·Dh · 4   (V_1)   +   N · B·Lc · 4   (positions)
 * against 2·N·B·H·Lc·Dh·4 (+ positions) for vanilla attention: almost half.
 *
 * Layer 0's cache (FirstLayerCache) keeps K_1, V_1 and positions; each later layer's cache
 * (KeysOnlyCache) keeps its K_n and positions and reads V_1 from layer 0's. `model.initCache`
 * creates layers in order and layer 0 runs first in each step, so V_1 already holds the step's
 * new tokens when a later layer reads it.
 *
 * Shapes: B batch, H heads (= Hkv), Lc cached tokens, Dh head width, T new tokens.
 */
import { StateError, tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';
import type { ValueResidualStore } from './model-scope.js';

function grow(old: Tensor | undefined, add: Tensor, axis: number): Tensor {
  const next = tf.keep(old ? tf.concat([old, add], axis) : tf.clone(add));
  old?.dispose();
  return next;
}

/** Keys and positions of one layer: [B, H, Lc, Dh] and [B, Lc]. */
class KeyStore {
  k?: Tensor;
  pos?: Tensor;
  constructor(readonly batch: number, readonly heads: number, readonly headDim: number) {}
  get length(): number {
    return this.k ? (this.k.shape as number[])[2] : 0;
  }
  append(k: Tensor, positions: Tensor): void {
    this.k = grow(this.k, k, 2); // [B, H, Lc + T, Dh]
    this.pos = grow(this.pos, positions, 1); // [B, Lc + T]
  }
  keys(): Tensor {
    return this.k ?? tf.zeros([this.batch, this.heads, 0, this.headDim]);
  }
  positions(): Tensor {
    return this.pos ?? tf.zeros([this.batch, 0], 'int32');
  }
  bytes(): number {
    return [this.k, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }
  dispose(): void {
    tf.dispose([this.k, this.pos].filter((t): t is Tensor => !!t));
    this.k = this.pos = undefined;
  }
}

/** Layer 0: K_1, V_1 and positions. */
export class FirstLayerCache implements KVCache {
  private readonly own: KeyStore;
  private v?: Tensor; // V_1 [B, H, Lc, Dh]
  disposed = false;

  constructor(readonly batch: number, readonly heads: number, readonly headDim: number) {
    this.own = new KeyStore(batch, heads, headDim);
  }
  get length(): number {
    return this.own.length;
  }
  append(k: Tensor, v: Tensor, positions: Tensor): void {
    this.own.append(k, positions);
    this.v = grow(this.v, v, 2); // [B, H, Lc + T, Dh]
  }
  keys(): Tensor {
    return this.own.keys();
  }
  values(): Tensor {
    return this.v ?? tf.zeros([this.batch, this.heads, 0, this.headDim]);
  }
  positions(): Tensor {
    return this.own.positions();
  }
  bytes(): number {
    return this.own.bytes() + (this.v ? this.v.size * 4 : 0);
  }
  dispose(): void {
    this.own.dispose();
    this.v?.dispose();
    this.v = undefined;
    this.disposed = true;
  }
}

/** Layers n ≥ 2: their own K_n and positions; values are layer 0's V_1 (not stored again). */
export class KeysOnlyCache implements KVCache {
  private readonly own: KeyStore;

  constructor(readonly first: FirstLayerCache, readonly layerIndex: number) {
    this.own = new KeyStore(first.batch, first.heads, first.headDim);
  }
  get length(): number {
    return this.own.length;
  }
  /** Keeps k; v is V_1's new rows, which layer 0's cache appended earlier in this step. */
  append(k: Tensor, _v: Tensor, positions: Tensor): void {
    if (this.first.disposed) throw new StateError(`Layer ${this.layerIndex}: layer 0's KV cache (holding V_1) was disposed; create a new cache with model.initCache(batch).`);
    this.own.append(k, positions);
    if (this.first.length !== this.own.length) {
      throw new StateError(`Layer ${this.layerIndex}: holds ${this.own.length} keys but layer 0 holds ${this.first.length} values; feed the whole model through model.step.`);
    }
  }
  keys(): Tensor {
    return this.own.keys();
  }
  values(): Tensor {
    return this.first.values();
  }
  positions(): Tensor {
    return this.own.positions();
  }
  bytes(): number {
    return this.own.bytes();
  }
  dispose(): void {
    this.own.dispose();
  }
}

export class SingleValueCacheFactory implements KVCacheFactory {
  readonly needsWeights = false;
  constructor(readonly store: ValueResidualStore) {}

  create(batch: number, dims: { kvHeads: number; headDim: number; layerIndex: number }): KVCache {
    if (dims.layerIndex === 0) {
      const cache = new FirstLayerCache(batch, dims.kvHeads, dims.headDim);
      this.store.latestFirstCache = cache;
      return cache;
    }
    const first = this.store.latestFirstCache;
    if (!first || first.disposed || first.batch !== batch || first.length !== 0) {
      throw new StateError(
        `Layer ${dims.layerIndex}: kvCache "svformer" reads V_1 from layer 0's cache, which must be created just before it. ` +
          'Create caches for the whole model with model.initCache(batch), not layer by layer.',
      );
    }
    return new KeysOnlyCache(first, dims.layerIndex);
  }
}
