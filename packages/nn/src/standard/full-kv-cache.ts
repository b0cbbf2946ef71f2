/** The default KV cache: keeps every key and value (exact decoding). */
import { tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';

export class FullKVCache implements KVCache {
  private k?: Tensor;
  private v?: Tensor;
  private pos?: Tensor;

  constructor(private readonly batch: number, private readonly kvHeads: number, private readonly headDim: number) {}

  get length(): number {
    return this.k ? (this.k.shape as number[])[2] : 0;
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    const grow = (old: Tensor | undefined, add: Tensor, axis: number) => {
      if (!old) return tf.keep(tf.clone(add));
      const next = tf.keep(tf.concat([old, add], axis));
      old.dispose();
      return next;
    };
    this.k = grow(this.k, k, 2); // [B, Hkv, Lc, Dh]
    this.v = grow(this.v, v, 2);
    this.pos = grow(this.pos, positions, 1); // [B, Lc]
  }

  private empty(shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor {
    return tf.zeros(shape, dtype);
  }

  keys(): Tensor {
    return this.k ?? this.empty([this.batch, this.kvHeads, 0, this.headDim]);
  }
  values(): Tensor {
    return this.v ?? this.empty([this.batch, this.kvHeads, 0, this.headDim]);
  }
  positions(): Tensor {
    return this.pos ?? this.empty([this.batch, 0], 'int32');
  }

  bytes(): number {
    return [this.k, this.v, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    tf.dispose([this.k, this.v, this.pos].filter((t): t is Tensor => !!t));
    this.k = this.v = this.pos = undefined;
  }
}

export const fullKVCacheFactory: KVCacheFactory = {
  needsWeights: false,
  create: (batch, dims) => new FullKVCache(batch, dims.kvHeads, dims.headDim),
};
