/**
 * CLA's KV cache (Brandon et al. 2024, §3): only producer layers store keys and values; the
 * s − 1 consumer layers of a group read the producer's cache. The model's cache therefore holds
 * ⌈layers / s⌉ layers' worth of K/V instead of `layers`.
 *
 * Linking: `model.initCache(B)` creates every layer's cache in layer order, so a consumer's
 * cache is created right after its producer's; the producer's factory records its latest cache
 * in the per-model CLA store and the consumer's view binds to it. Within a decoding step the
 * producer layer runs (and appends this step's K/V) before its consumers read them.
 *
 * Shapes: B batch, Hkv key/value heads, Lc cached tokens, Dh head width, T new tokens.
 */
import { StateError, tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';
import type { LayerRole } from './model-scope.js';

/** A producer layer's cache: keeps every key and value (exact decoding). */
export class ProducerCache implements KVCache {
  private k?: Tensor; // [B, Hkv, Lc, Dh]
  private v?: Tensor;
  private pos?: Tensor; // [B, Lc] int32
  disposed = false;

  constructor(readonly batch: number, readonly kvHeads: number, readonly headDim: number) {}

  get length(): number {
    return this.k ? (this.k.shape as number[])[2] : 0;
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    const grow = (old: Tensor | undefined, add: Tensor, axis: number) => {
      const next = tf.keep(old ? tf.concat([old, add], axis) : tf.clone(add));
      old?.dispose();
      return next;
    };
    this.k = grow(this.k, k, 2); // [B, Hkv, Lc + T, Dh]
    this.v = grow(this.v, v, 2);
    this.pos = grow(this.pos, positions, 1); // [B, Lc + T]
  }

  keys(): Tensor {
    return this.k ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }
  values(): Tensor {
    return this.v ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }
  positions(): Tensor {
    return this.pos ?? tf.zeros([this.batch, 0], 'int32');
  }

  /** (2·B·Hkv·Lc·Dh + B·Lc) · 4 bytes: float32 keys and values, int32 positions. */
  bytes(): number {
    return [this.k, this.v, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    tf.dispose([this.k, this.v, this.pos].filter((t): t is Tensor => !!t));
    this.k = this.v = this.pos = undefined;
    this.disposed = true;
  }
}

/** A consumer layer's cache: a view of its producer's. Holds no tensors (0 bytes). */
export class ConsumerView implements KVCache {
  constructor(readonly producer: ProducerCache, readonly layerIndex: number) {}

  get length(): number {
    return this.producer.length;
  }
  /** The new K/V are the producer's, which its own cache already appended this step. */
  append(_k: Tensor, _v: Tensor, _positions: Tensor): void {
    if (this.producer.disposed) throw new StateError(`Layer ${this.layerIndex}: the producer layer's KV cache was disposed; create a new cache with model.initCache(batch).`);
  }
  keys(): Tensor {
    return this.producer.keys();
  }
  values(): Tensor {
    return this.producer.values();
  }
  positions(): Tensor {
    return this.producer.positions();
  }
  bytes(): number {
    return 0;
  }
  dispose(): void {
    // The producer's cache owns the tensors.
  }
}

export class CrossLayerCacheFactory implements KVCacheFactory {
  readonly needsWeights = false;
  constructor(readonly role: LayerRole) {}

  create(batch: number, dims: { kvHeads: number; headDim: number; layerIndex: number }): KVCache {
    const { record } = this.role;
    if (this.role.role === 'producer') {
      const cache = new ProducerCache(batch, dims.kvHeads, dims.headDim);
      record.latestCache = cache;
      return cache;
    }
    const producer = record.latestCache;
    if (!producer || producer.disposed || producer.batch !== batch || producer.length !== 0) {
      throw new StateError(
        `Layer ${dims.layerIndex}: kvCache "cla" reads layer ${this.role.producer}'s cache, which must be created just before it. ` +
          'Create caches for the whole model with model.initCache(batch), not layer by layer.',
      );
    }
    return new ConsumerView(producer, dims.layerIndex);
  }
}
