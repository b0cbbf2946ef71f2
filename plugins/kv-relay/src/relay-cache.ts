/**
 * RelayAttention's KV cache (Zhu et al. 2024, arXiv 2402.14808, §3.2–3.3): the system prompt
 * shared by every request of a batch is kept ONCE (batch 1, the "system KV"), and each request
 * keeps only its own tokens (the "request KV"). Attention over [system; request] is recovered
 * with the log-sum-exp merge of ./relay-math.ts (Eq. 6), so a decoding step reads the system KV
 * once for the whole batch: the B·T queries are stacked into one query matrix (§3.3, "relay
 * attention ... treats the batch of queries as a single long query").
 *
 * Notation:
 *   B batch, Hkv key/value heads, Ls system tokens, Lr request tokens, Dh head width, T new tokens.
 *   Ks, Vs [1, Hkv, Ls, Dh], ps [1, Ls]      system KV and positions (stored once)
 *   Kr, Vr [B, Hkv, Lr, Dh], pr [B, Lr]      request KV and positions
 *
 * For `@weft/nn`'s standard attention mixer, keys()/values()/positions() return the
 * concatenation [broadcast(Ks); Kr] (materialised lazily per step and freed at the next append:
 * that transient copy is what the standard mixer reads; `relayAttend` is the efficient path
 * that never builds it). bytes() counts the stored state only.
 */
import { StateError, tf, type KVCache, type KVCacheFactory, type LayerState, type Tensor } from '@weft/core';
import { attentionWithLse, relayMerge } from './relay-math.js';

export class RelayKVCache implements KVCache {
  private sys?: { k: Tensor; v: Tensor; pos: Tensor };
  private k?: Tensor; // [B, Hkv, Lr, Dh]
  private v?: Tensor; // [B, Hkv, Lr, Dh]
  private pos?: Tensor; // [B, Lr] int32
  private joined?: { k: Tensor; v: Tensor; pos: Tensor };
  /** While true, appends (batch 1) go to the shared system KV: see prefillSystemPrompt. */
  capturingSystem = false;

  constructor(
    readonly batch: number,
    readonly kvHeads: number,
    readonly headDim: number,
  ) {}

  /** Ls: tokens in the shared system prompt. */
  get systemLength(): number {
    return this.sys ? (this.sys.k.shape[2] as number) : 0;
  }
  /** Lr: tokens of each request held after the system prompt. */
  get requestLength(): number {
    return this.k ? (this.k.shape[2] as number) : 0;
  }
  get length(): number {
    return this.capturingSystem ? this.systemLength : this.systemLength + this.requestLength;
  }

  /** Replace the shared system KV: k, v [1, Hkv, Ls, Dh], positions [1, Ls]. Copies the inputs. */
  setSystem(k: Tensor, v: Tensor, positions: Tensor): void {
    if (this.requestLength > 0) throw new StateError('relay: set the system prompt before any request token is appended (the request KV is not empty).');
    if (k.shape[0] !== 1 || v.shape[0] !== 1 || positions.shape[0] !== 1)
      throw new RangeError(`relay: the system KV is shared by all rows, so its batch must be 1; got keys of shape [${k.shape}]`);
    if (k.shape[1] !== this.kvHeads || k.shape[3] !== this.headDim)
      throw new RangeError(`relay: system keys must be [1, ${this.kvHeads}, Ls, ${this.headDim}]; got [${k.shape}]`);
    this.dropJoined();
    if (this.sys) tf.dispose([this.sys.k, this.sys.v, this.sys.pos]);
    this.sys = { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)), pos: tf.keep(tf.clone(positions)) };
  }

  append(k: Tensor, v: Tensor, positions: Tensor): void {
    this.dropJoined();
    const grow = (old: Tensor | undefined, add: Tensor, axis: number) => {
      const next = tf.keep(old ? tf.concat([old, add], axis) : tf.clone(add));
      old?.dispose();
      return next;
    };
    if (this.capturingSystem) {
      if (k.shape[0] !== 1) throw new RangeError(`relay: the system prompt is prefilled with batch 1; got batch ${k.shape[0]}`);
      const s = this.sys;
      this.sys = { k: grow(s?.k, k, 2), v: grow(s?.v, v, 2), pos: grow(s?.pos, positions, 1) }; // [1, Hkv, Ls + T, Dh]
      return;
    }
    this.k = grow(this.k, k, 2); // [B, Hkv, Lr + T, Dh]
    this.v = grow(this.v, v, 2);
    this.pos = grow(this.pos, positions, 1); // [B, Lr + T]
  }

  /** System KV [1, Hkv, Ls, Dh] ×2 and positions [1, Ls] (empty tensors are owned by the caller's tidy). */
  systemKeys(): Tensor {
    return this.sys?.k ?? tf.zeros([1, this.kvHeads, 0, this.headDim]);
  }
  systemValues(): Tensor {
    return this.sys?.v ?? tf.zeros([1, this.kvHeads, 0, this.headDim]);
  }
  requestKeys(): Tensor {
    return this.k ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }
  requestValues(): Tensor {
    return this.v ?? tf.zeros([this.batch, this.kvHeads, 0, this.headDim]);
  }

  private join(): { k: Tensor; v: Tensor; pos: Tensor } {
    if (!this.joined) {
      const B = this.k ? (this.k.shape[0] as number) : this.batch;
      this.joined = tf.tidy(() => {
        const Ls = this.systemLength;
        const cat = (s: Tensor | undefined, r: Tensor | undefined, shape: number[], dtype: 'float32' | 'int32') => {
          const parts = [s ? tf.broadcastTo(s, [B, ...s.shape.slice(1)]) : undefined, r].filter((t): t is Tensor => !!t);
          return tf.keep(parts.length ? tf.concat(parts, 2 - (shape.length === 2 ? 1 : 0)) : tf.zeros(shape, dtype));
        };
        return {
          k: cat(this.sys?.k, this.k, [B, this.kvHeads, Ls, this.headDim], 'float32'), // [B, Hkv, Ls + Lr, Dh]
          v: cat(this.sys?.v, this.v, [B, this.kvHeads, Ls, this.headDim], 'float32'),
          pos: cat(this.sys?.pos, this.pos, [B, Ls], 'int32'), // [B, Ls + Lr]
        };
      });
    }
    return this.joined;
  }

  private dropJoined(): void {
    if (this.joined) tf.dispose([this.joined.k, this.joined.v, this.joined.pos]);
    this.joined = undefined;
  }

  keys(): Tensor {
    return this.capturingSystem ? this.systemKeys() : this.join().k;
  }
  values(): Tensor {
    return this.capturingSystem ? this.systemValues() : this.join().v;
  }
  positions(): Tensor {
    if (this.capturingSystem) return this.sys?.pos ?? tf.zeros([1, 0], 'int32');
    return this.join().pos;
  }

  /** Stored state: (2·Hkv·Ls·Dh + Ls)·4 for the system prompt (once) + (2·B·Hkv·Lr·Dh + B·Lr)·4. */
  bytes(): number {
    return [this.sys?.k, this.sys?.v, this.sys?.pos, this.k, this.v, this.pos].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    this.dropJoined();
    tf.dispose([this.sys?.k, this.sys?.v, this.sys?.pos, this.k, this.v, this.pos].filter((t): t is Tensor => !!t));
    this.sys = this.k = this.v = this.pos = undefined;
  }
}

export class RelayKVCacheFactory implements KVCacheFactory {
  readonly needsWeights = false;
  create(batch: number, dims: { kvHeads: number; headDim: number }): RelayKVCache {
    return new RelayKVCache(batch, dims.kvHeads, dims.headDim);
  }
}

/** Set the shared system KV of one layer's relay cache: k, v [1, Hkv, Ls, Dh], positions [1, Ls]. */
export function setSystemPrompt(cache: KVCache, k: Tensor, v: Tensor, positions: Tensor): void {
  asRelay(cache).setSystem(k, v, positions);
}

function asRelay(state: LayerState): RelayKVCache {
  if (!(state instanceof RelayKVCache)) throw new StateError('relay: this layer state is not a relay KV cache; use kvCache: { kind: "relay" } in the model config.');
  return state;
}

/**
 * Prefill the shared system prompt of every layer with ONE batch-1 forward: each layer's
 * keys/values go to its system KV, then `cache.position` is Ls and requests continue from there.
 * `model` is a `@weft/nn` CausalLM and `cache` its `initCache(B)` (B any batch size).
 */
export function prefillSystemPrompt(
  model: { step(ids: Tensor, cache: never): Tensor },
  cache: { readonly layers: readonly LayerState[]; position: number },
  systemIds: number[],
): void {
  const layers = cache.layers.map(asRelay);
  if (cache.position !== 0) throw new StateError(`relay: prefill the system prompt into a fresh cache (this one is at position ${cache.position}).`);
  layers.forEach((c) => (c.capturingSystem = true));
  try {
    const ids = tf.tensor2d([systemIds], [1, systemIds.length], 'int32');
    tf.dispose([model.step(ids, cache as never), ids]);
  } finally {
    layers.forEach((c) => (c.capturingSystem = false));
  }
}

/**
 * The efficient decoding path (§3.3): q [B, H, T, Dh] (the T newest tokens of each request,
 * already appended) attends to the system KV as ONE [1, H, B·T, Dh] query matrix (the system KV is
 * read once for the batch, no causal mask: every system token precedes every request token),
 * to the request KV causally, and the two are merged with Eq. 6. Returns [B, H, T, Dh].
 */
export function relayAttend(q: Tensor, cache: KVCache, options: { scale?: number } = {}): Tensor {
  const relay = asRelay(cache);
  return tf.tidy(() => {
    const [B, H, T, Dh] = q.shape as number[];
    const qs = tf.reshape(tf.transpose(q, [1, 0, 2, 3]), [1, H, B * T, Dh]); // [1, H, B·T, Dh]
    const sys = attentionWithLse(qs, relay.systemKeys(), relay.systemValues(), { scale: options.scale });
    const oSys = tf.transpose(tf.reshape(sys.out, [H, B, T, Dh]), [1, 0, 2, 3]); // [B, H, T, Dh]
    const lseSys = tf.transpose(tf.reshape(sys.lse, [H, B, T]), [1, 0, 2]); // [B, H, T]
    const req = attentionWithLse(q, relay.requestKeys(), relay.requestValues(), { causal: true, scale: options.scale });
    return relayMerge(oSys, lseSys, req.out, req.lse);
  });
}
