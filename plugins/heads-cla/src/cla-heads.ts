/**
 * Cross-Layer Attention (Brandon et al. 2024, "Reducing Transformer Key-Value Cache Size with
 * Cross-Layer Attention", arXiv 2405.12981, §3): adjacent layers share one set of keys and
 * values. With sharing factor s ("CLA2" is s = 2), layer ℓ with ℓ mod s = 0 projects K/V as
 * usual (a "producer"); layers ℓ+1 … ℓ+s−1 ("consumers") project only queries and attend to
 * the producer's K/V. Only producers add to the KV cache: ⌈layers / s⌉ layers' worth.
 *
 * Notation:
 *   B batch, L length, D model width, H query heads, Hkv key/value heads (MQA/GQA-style
 *   `kvHeads`, the paper's CLA+MQA configurations), Dh head width, s sharing factor,
 *   p(ℓ) = ℓ − (ℓ mod s)  the producer of layer ℓ.
 *   Q_ℓ = x_ℓ W_q^ℓ                     -> [B, H, L, Dh]
 *   K_p, V_p = x_p W_k^p, x_p W_v^p     -> [B, Hkv, L, Dh]   (x_p: the producer's attention input)
 *   y_ℓ = concat_h softmax(Q_ℓ,h K_p,g(h)ᵀ / √Dh) V_p,g(h) · W_o^ℓ,   g(h) = ⌊h / (H / Hkv)⌋
 *
 * Sharing within one forward goes through `ctx.scratch` under the producer's layer index: the
 * producer leaves its (un-rotated) K/V there, kept alive until its last consumer took them; each
 * consumer's attention mixer applies the same rotary/positional hooks to them as the producer's
 * did. Decoding shares the producer's KV cache instead (kvCache kind "cla", ./shared-kv-cache.ts).
 */
import { ConfigError, Module, StateError, tf, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';
import { claStore, type ClaStore, type LayerRole } from './model-scope.js';

export const ClaOptions = z.object({
  /** s: each producer's K/V serve s layers (itself and the next s − 1). The paper's CLA2 is 2. */
  sharing: z.number().int().positive().default(2),
  /** Key/value heads per producer (default: heads, i.e. MHA); must divide heads. */
  kvHeads: z.number().int().positive().optional(),
  bias: z.boolean().default(false),
});
export type ClaOptions = z.output<typeof ClaOptions>;

const scratchKey = (producer: number) => `weft.heads-cla.kv.${producer}`;

interface SharedKV {
  k: Tensor; // [B, Hkv, L, Dh], kept
  v: Tensor;
  remaining: number;
}

export interface ClaBuild {
  dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim' | 'layers'>;
  layerIndex: number;
  path: string;
  rng: Rng;
  store: ClaStore;
}

export class CrossLayerHeads extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layerIndex: number;
  readonly role: LayerRole;
  readonly wq: Linear;
  readonly wk?: Linear;
  readonly wv?: Linear;
  readonly wo: Linear;

  constructor(options: ClaOptions, build: ClaBuild) {
    super();
    const { dims, layerIndex, path, rng, store } = build;
    const s = options.sharing;
    this.heads = dims.heads;
    this.kvHeads = options.kvHeads ?? dims.heads;
    this.headDim = dims.headDim;
    this.layerIndex = layerIndex;
    if (dims.heads % this.kvHeads !== 0) {
      throw new ConfigError(`${path}.kvHeads`, `kvHeads ${this.kvHeads} does not divide heads ${dims.heads}; use a divisor of ${dims.heads} (1 = multi-query) or leave it out (= heads).`);
    }
    const producer = layerIndex - (layerIndex % s);
    if (producer === layerIndex) {
      const record = { sharing: s, consumers: [] as number[] };
      store.producers.set(layerIndex, record);
      this.role = { role: 'producer', producer, record };
    } else {
      const record = store.producers.get(producer);
      if (!record || record.sharing !== s) {
        throw new ConfigError(
          `${path}.sharing`,
          `layer ${layerIndex} would reuse the keys/values of layer ${producer} (sharing ${s}), but layer ${producer} ${record ? `uses sharing ${record.sharing}` : 'does not use headLayout "cla"'}. ` +
            'Give every layer of a sharing group headLayout { "kind": "cla" } with the same "sharing" (simplest: set it once at the model level).',
        );
      }
      record.consumers.push(layerIndex);
      this.role = { role: 'consumer', producer, record };
    }
    store.roles.set(layerIndex, this.role);
    const width = this.heads * this.headDim;
    const kvWidth = this.kvHeads * this.headDim;
    const bias = options.bias;
    // Parameter names and init streams of @weft/nn's "mha": sharing 1 reproduces it exactly.
    this.wq = this.addModule('wq', new Linear(dims.dModel, width, rng.fork('wq'), { bias }));
    if (this.role.role === 'producer') {
      this.wk = this.addModule('wk', new Linear(dims.dModel, kvWidth, rng.fork('wk'), { bias }));
      this.wv = this.addModule('wv', new Linear(dims.dModel, kvWidth, rng.fork('wv'), { bias }));
    }
    const outStd = 0.02 / Math.sqrt(2 * dims.layers);
    this.wo = this.addModule('wo', new Linear(width, dims.dModel, rng.fork('wo'), { bias, weightInit: (sh, r) => r.normalArray(sh[0] * sh[1], 0, outStd) }));
  }

  /** x [B, L, D] -> q [B, H, L, Dh]; k, v [B, Hkv, L, Dh] (own or the producer's). */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => {
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, L, Dh]
      let kv: { k: Tensor; v: Tensor };
      if (this.role.role === 'producer') {
        kv = { k: splitHeads(this.wk!.forward(x), this.kvHeads), v: splitHeads(this.wv!.forward(x), this.kvHeads) }; // [B, Hkv, L, Dh]
        // Training: hand the kernel k/v expanded to H heads (tfjs has no gradient for the rank-5
        // tile @weft/nn's kernels repeat kv heads with); consumers then receive them expanded too.
        if (ctx.training && this.kvHeads !== this.heads) kv = { k: expandKvHeads(kv.k, this.heads), v: expandKvHeads(kv.v, this.heads) };
        const consumers = this.role.record.consumers.length;
        if (consumers > 0) ctx.scratch.set(scratchKey(this.layerIndex), { k: tf.keep(tf.clone(kv.k)), v: tf.keep(tf.clone(kv.v)), remaining: consumers } satisfies SharedKV);
      } else {
        kv = this.takeShared(ctx);
      }
      return { q, ...kv };
    });
  }

  /** A consumer takes the producer's K/V from this forward's scratch; the last one frees them. */
  private takeShared(ctx: ForwardContext | StepContext): { k: Tensor; v: Tensor } {
    const key = scratchKey(this.role.producer);
    const shared = ctx.scratch.get(key) as SharedKV | undefined;
    if (!shared) {
      throw new StateError(`Layer ${this.layerIndex} (cross-layer attention) found no keys/values from layer ${this.role.producer} in this forward: run the model's layers in order (model.forward / model.step), not one consumer layer alone.`);
    }
    const out = { k: tf.clone(shared.k), v: tf.clone(shared.v) }; // share the data, not the handle
    if (--shared.remaining === 0) {
      tf.dispose([shared.k, shared.v]);
      ctx.scratch.delete(key);
    }
    return out;
  }

  /** o [B, H, L, Dh] -> [B, L, D]. */
  output(o: Tensor, _ctx: ForwardContext | StepContext): Tensor {
    return tf.tidy(() => this.wo.forward(mergeHeads(o))); // [B, L, H·Dh] -> [B, L, D]
  }
}

/** [B, Hkv, L, Dh] -> [B, H, L, Dh]: head h gets kv head ⌊h / (H / Hkv)⌋ (differentiable gather). */
function expandKvHeads(kv: Tensor, heads: number): Tensor {
  const group = heads / (kv.shape as number[])[1];
  return tf.gather(kv, tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'), 1);
}

export function createClaHeads(options: ClaOptions, ctx: { dims: ModelDims; layerIndex: number; path: string; rng: Rng; container: Parameters<typeof claStore>[0] }): CrossLayerHeads {
  return new CrossLayerHeads(options, { dims: ctx.dims, layerIndex: ctx.layerIndex, path: ctx.path, rng: ctx.rng, store: claStore(ctx.container) });
}
