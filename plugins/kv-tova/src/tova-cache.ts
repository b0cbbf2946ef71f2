/**
 * TOVA — Token Omission Via Attention (Oren et al. 2024, "Transformers are Multi-State RNNs",
 * arXiv 2401.06104, §4 and Algorithm 1): a decoder-only transformer is an RNN whose state is
 * its KV cache; TOVA bounds that state to `budget` tokens per layer. Whenever a layer holds
 * more than `budget` tokens, it drops the token that the CURRENT query attends to least, with
 * the attention weights averaged over heads (one decision per layer, shared by all heads).
 *
 * Notation:
 *   B batch, H query heads, Hkv key/value heads, Dh head width, T new tokens this step,
 *   Lc tokens held (≤ budget after each step), k budget (the paper's multi-state size).
 *   A [B, H, T, Lc]  softmax weights of the step's queries over the held tokens
 *   s_j = (1/H) Σ_h A[b, h, T-1, j]   score of held token j for the latest query (§4, "we
 *                                      average the attention scores across heads")
 *   while Lc > k: drop argmin_j s_j   (ties: the oldest token goes first)
 *
 * Order within a decoding step (set by the attention mixer): append the new keys/values,
 * attend the queries over all Lc = held + T tokens, observe(A), then evict down to the
 * budget. So the newest token competes too, exactly as in the paper. Prompts longer than the
 * budget are cut in one go using the last prompt token's weights. observe() runs inside the
 * kernel, before it has read the values, so the eviction it decides is applied lazily: before
 * the next append, read, length or byte count.
 */
import { tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';

export class TovaKVCache implements KVCache {
  private k?: Tensor; // [B, Hkv, Lc, Dh]
  private v?: Tensor; // [B, Hkv, Lc, Dh]
  private pos?: Tensor; // [B, Lc] int32
  /** Kept indices per row decided by the last observe(), not yet applied. */
  private pending?: number[][];

  constructor(
    readonly batch: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly budget: number,
  ) {}

  get length(): number {
    this.settle();
    return this.held();
  }

  private held(): number {
    return this.k ? (this.k.shape as number[])[2] : 0;
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    this.settle();
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
    this.settle();
    return this.k ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }
  values(): Tensor {
    this.settle();
    return this.v ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }
  positions(): Tensor {
    this.settle();
    return this.pos ?? tf.zeros([this.batch, 0], 'int32');
  }

  /** A [B, H, T, Lc]: evict per batch row the lowest head-averaged weights of the last query. */
  observe(weights: Tensor): void {
    const Lc = this.held();
    if (Lc <= this.budget) return;
    const [B, H, T, Lw] = weights.shape as number[];
    if (Lw !== Lc) throw new RangeError(`TOVA: attention weights cover ${Lw} keys but the cache holds ${Lc}`);
    const lastQuery = tf.slice(weights, [0, 0, T - 1, 0], [B, H, 1, Lc]); // [B, H, 1, Lc]
    const last = lastQuery.dataSync();
    lastQuery.dispose();
    this.pending = this.select(last, B, H, Lc);
  }

  /** Apply a pending eviction. */
  private settle(): void {
    if (!this.pending) return;
    const keep = this.pending;
    this.pending = undefined;
    this.gatherRows(keep, keep.length, this.held());
  }

  /** Kept token indices per row, in their original (time) order: the top-`budget` scores s_j. */
  select(lastQueryWeights: ArrayLike<number>, B: number, H: number, Lc: number): number[][] {
    const keep: number[][] = [];
    for (let b = 0; b < B; b++) {
      const s = new Float64Array(Lc);
      for (let h = 0; h < H; h++) for (let j = 0; j < Lc; j++) s[j] += lastQueryWeights[(b * H + h) * Lc + j] / H;
      const order = Array.from({ length: Lc }, (_, j) => j).sort((i, j) => s[i] - s[j] || i - j); // ascending score, oldest first
      const dropped = new Set(order.slice(0, Lc - this.budget));
      keep.push(order.filter((j) => !dropped.has(j)).sort((i, j) => i - j));
    }
    return keep;
  }

  private gatherRows(keep: number[][], B: number, Lc: number): void {
    const k = this.budget;
    const flatIndex = tf.tensor1d(keep.flatMap((row, b) => row.map((j) => b * Lc + j)), 'int32'); // [B·k]
    const pick = (x: Tensor) =>
      tf.tidy(() => {
        const [, Hkv, , Dh] = x.shape as number[];
        const rows = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B * Lc, Hkv, Dh]); // [B·Lc, Hkv, Dh]
        return tf.keep(tf.transpose(tf.reshape(tf.gather(rows, flatIndex), [B, k, Hkv, Dh]), [0, 2, 1, 3])); // [B, Hkv, k, Dh]
      });
    const [k2, v2] = [pick(this.k!), pick(this.v!)];
    const pos2 = tf.tidy(() => tf.keep(tf.reshape(tf.gather(tf.reshape(this.pos!, [B * Lc]), flatIndex), [B, k]))); // [B, k]
    tf.dispose([this.k!, this.v!, this.pos!, flatIndex]);
    [this.k, this.v, this.pos] = [k2, v2, pos2];
  }

  /** float32 keys and values plus int32 positions: (2·B·Hkv·Lc·Dh + B·Lc) · 4 bytes. */
  bytes(): number {
    this.settle();
    return [this.k, this.v, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    this.pending = undefined;
    tf.dispose([this.k, this.v, this.pos].filter((t): t is Tensor => !!t));
    this.k = this.v = this.pos = undefined;
  }
}

export class TovaKVCacheFactory implements KVCacheFactory {
  readonly needsWeights = true;
  constructor(readonly budget: number) {}
  create(batch: number, dims: { kvHeads: number; headDim: number }): TovaKVCache {
    return new TovaKVCache(batch, dims.kvHeads, dims.headDim, this.budget);
  }
}
