/**
 * A `kvCache` that keeps a linear kernel's recurrent state instead of every key and value.
 *
 * Why this exists: the attention mixer in @weft/nn decodes by appending the new keys/values
 * to the cache and calling `kernel.attend(q, cache.keys(), cache.values(), ctx)`. A linear
 * kernel only needs the running state S = Σ_j φ(k_j) v_jᵀ (and z = Σ_j φ(k_j)), which is
 * O(1) in the context length. The KVCache contract has no place for it, so this cache:
 *
 *   1. holds only the tokens of the latest `append` ("pending", [B, Hkv, T, Dh]);
 *   2. tags the pending key tensor it returns from `keys()` with a *carrier*
 *      (`RECURRENT_CARRIER`, a `Symbol.for` key so every copy of every linear plugin sees it);
 *   3. a linear kernel that finds the carrier on `k` starts from `carrier.state`, attends the
 *      new queries to the pending tokens, and hands the state *after* them back through
 *      `carrier.fold(owner, state)`.
 *
 * The state's tensors are defined by the kernel that writes them (`owner`), so a kernel
 * refuses a state another kernel wrote. If the next `append` comes and nobody folded the
 * previous tokens (the cache was paired with a kernel that does not speak this protocol, e.g.
 * dense), the cache throws instead of silently forgetting them.
 *
 * Memory: state + T pending tokens, independent of how many tokens were decoded.
 */
import { StateError, tf, type KVCache, type KVCacheFactory, type Tensor } from '@weft/core';

export const RECURRENT_CARRIER: unique symbol = Symbol.for('weft.attention.recurrentCarrier') as never;

export interface RecurrentCarrier {
  /** Tokens already folded into `state` (= absolute index of the first pending token). */
  readonly folded: number;
  /** Kernel-defined state tensors; undefined before the first fold. Owned by the cache. */
  readonly state: readonly Tensor[] | undefined;
  /** Kind of the kernel that wrote `state`. */
  readonly owner: string | undefined;
  /** Replace the state by the one after the pending tokens. Takes ownership (keeps) the tensors. */
  fold(owner: string, state: Tensor[]): void;
}

/** The carrier a recurrent cache attached to this key tensor, if any. */
export function carrierOf(k: Tensor): RecurrentCarrier | undefined {
  return (k as unknown as Record<symbol, RecurrentCarrier | undefined>)[RECURRENT_CARRIER];
}

export class RecurrentStateCache implements KVCache, RecurrentCarrier {
  private k?: Tensor;
  private v?: Tensor;
  private pos?: Tensor;
  private pendingFolded = true;
  private tensors: Tensor[] | undefined;
  private writer: string | undefined;
  private done = 0;

  constructor(
    private readonly kind: string,
    private readonly batch: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
  ) {}

  get folded(): number {
    return this.done;
  }
  get state(): readonly Tensor[] | undefined {
    return this.tensors;
  }
  get owner(): string | undefined {
    return this.writer;
  }

  get length(): number {
    return this.done + (this.k ? (this.k.shape as number[])[2] : 0);
  }

  fold(owner: string, state: Tensor[]): void {
    if (!this.k) throw new StateError(`kvCache "${this.kind}": fold() called with no pending tokens`);
    if (this.pendingFolded) throw new StateError(`kvCache "${this.kind}": the pending tokens were already folded into the state (attend was called twice for one step)`);
    const old = this.tensors;
    this.tensors = state.map((t) => tf.keep(t));
    if (old) tf.dispose(old as Tensor[]);
    this.writer = owner;
    this.done += (this.k.shape as number[])[2];
    this.pendingFolded = true;
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    if (!this.pendingFolded) {
      throw new StateError(
        `kvCache "${this.kind}" keeps only a linear-attention state, but the attention kernel did not fold the previous ` +
          `${(this.k!.shape as number[])[2]} token(s) into it. Pair it with a linear kernel (linear, lightning, cottention) or use kvCache "full".`,
      );
    }
    tf.dispose([this.k, this.v, this.pos].filter((t): t is Tensor => !!t));
    this.k = tf.keep(tf.clone(k)); // [B, Hkv, T, Dh]
    this.v = tf.keep(tf.clone(v)); // [B, Hkv, T, Dv]
    this.pos = tf.keep(tf.clone(positions)); // [B, T]
    Object.defineProperty(this.k, RECURRENT_CARRIER, { value: this, enumerable: false });
    this.pendingFolded = false;
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

  bytes(): number {
    return [this.k, this.v, this.pos, ...(this.tensors ?? [])].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    tf.dispose([this.k, this.v, this.pos, ...(this.tensors ?? [])].filter((t): t is Tensor => !!t));
    this.k = this.v = this.pos = undefined;
    this.tensors = undefined;
    this.pendingFolded = true;
  }
}

/** Factory for the `kvCache` slot under the given kind name. */
export function recurrentStateCacheFactory(kind: string): KVCacheFactory {
  return {
    needsWeights: false,
    create: (batch, dims) => new RecurrentStateCache(kind, batch, dims.kvHeads, dims.headDim),
  };
}
