/**
 * MLKV, Multi-Layer Key-Value heads (Zuhri et al. 2024, "MLKV: Multi-Layer Key-Value Heads for
 * Memory Efficient Transformer Decoding", arXiv 2406.09297, §3): MQA/GQA shares key/value heads
 * across the query heads of one layer; MLKV also shares them across LAYERS. The layers are split
 * into consecutive groups; only the first layer of a group projects keys and values (with
 * `kvHeads` heads, 1 as in MQA by default) and every layer of the group attends to them. The KV
 * cache then holds (number of groups) · kvHeads heads instead of layers · heads.
 *
 * Notation:
 *   B batch, L length, D model width, H query heads, Hkv key/value heads per group, Dh head width,
 *   N layers, groups G_1 … G_m (consecutive, covering 0 … N−1), p(ℓ) = first layer of ℓ's group.
 *   Q_ℓ = x_ℓ W_q^ℓ                        -> [B, H, L, Dh]
 *   K_p, V_p = x_p W_k^p, x_p W_v^p        -> [B, Hkv, L, Dh]   (x_p: the group's first layer's input)
 *   y_ℓ = concat_h softmax(Q_ℓ,h K_p,g(h)ᵀ / √Dh) V_p,g(h) · W_o^ℓ,   g(h) = ⌊h / (H / Hkv)⌋
 *
 * With equal groups of s layers this is Cross-Layer Attention with sharing s (@weft/heads-cla,
 * same parameter names and init); MLKV's groups may also be uneven (`groups: [sizes]`).
 * K/V travel within a forward through ctx.scratch, kept until the group's last layer took them;
 * decoding shares the first layer's cache through @weft/heads-cla's producer/consumer caches.
 */
import { ConfigError, Module, StateError, tf, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';
import type { LayerRole } from '@weft/heads-cla';
import type { MlkvStore } from './model-scope.js';

export const MlkvOptions = z.object({
  /**
   * Which layers share key/value heads: an integer s (consecutive groups of s layers, the last
   * one possibly shorter: layer ℓ uses the K/V of layer ⌊ℓ / s⌋·s), or the list of consecutive
   * group sizes, summing to the model's layers (e.g. [1, 3, 4]).
   */
  groups: z.union([z.number().int().positive(), z.array(z.number().int().positive()).nonempty()]).default(2),
  /** Key/value heads of each group (the paper builds on MQA: 1); must divide heads. */
  kvHeads: z.number().int().positive().default(1),
  bias: z.boolean().default(false),
});
export type MlkvOptions = z.output<typeof MlkvOptions>;

/** First layer of every layer's group, from the `groups` option (checked against the layer count). */
export function groupStarts(groups: MlkvOptions['groups'], layers: number, path: string): number[] {
  if (typeof groups === 'number') return Array.from({ length: layers }, (_, l) => l - (l % groups));
  const total = groups.reduce((a, b) => a + b, 0);
  if (total !== layers) {
    throw new ConfigError(
      `${path}.groups`,
      `group sizes [${groups.join(', ')}] cover ${total} layers but the model has ${layers}; the sizes must add up to the number of layers ` +
        `(e.g. [${Array.from({ length: Math.ceil(layers / 2) }, (_, i) => Math.min(2, layers - 2 * i)).join(', ')}]), or give one integer for equal groups.`,
    );
  }
  const starts: number[] = [];
  groups.forEach((size) => {
    const first = starts.length;
    for (let i = 0; i < size; i++) starts.push(first);
  });
  return starts;
}

const scratchKey = (producer: number) => `weft.heads-mlkv.kv.${producer}`;

interface SharedKV {
  k: Tensor; // [B, Hkv, L, Dh] ([B, H, L, Dh] while training), kept
  v: Tensor;
  remaining: number;
}

export interface MlkvBuild {
  dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim' | 'layers'>;
  layerIndex: number;
  path: string;
  rng: Rng;
  store: MlkvStore;
}

export class MlkvHeads extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layerIndex: number;
  readonly role: LayerRole;
  readonly wq: Linear;
  readonly wk?: Linear;
  readonly wv?: Linear;
  readonly wo: Linear;

  constructor(options: MlkvOptions, build: MlkvBuild) {
    super();
    const { dims, layerIndex, path, rng, store } = build;
    this.heads = dims.heads;
    this.kvHeads = options.kvHeads;
    this.headDim = dims.headDim;
    this.layerIndex = layerIndex;
    if (dims.heads % this.kvHeads !== 0) {
      throw new ConfigError(`${path}.kvHeads`, `kvHeads ${this.kvHeads} does not divide heads ${dims.heads}; use a divisor of ${dims.heads} (1 = multi-query, the paper's setting).`);
    }
    const producer = groupStarts(options.groups, dims.layers, path)[layerIndex];
    const spec = JSON.stringify(options.groups);
    if (producer === layerIndex) {
      const record = { sharing: 0, consumers: [] as number[] }; // sharing: group size, counted as consumers join
      store.groups.set(layerIndex, spec);
      this.role = { role: 'producer', producer, record };
    } else {
      const record = store.producers.get(producer);
      if (!record || store.groups.get(producer) !== spec) {
        throw new ConfigError(
          `${path}.groups`,
          `layer ${layerIndex} would use the keys/values of layer ${producer} (groups ${spec}), but layer ${producer} ${record ? `uses groups ${store.groups.get(producer)}` : 'does not use headLayout "mlkv"'}. ` +
            'Give every layer of a group headLayout { "kind": "mlkv" } with the same "groups" (simplest: set it once at the model level).',
        );
      }
      record.consumers.push(layerIndex);
      this.role = { role: 'consumer', producer, record };
    }
    if (this.role.role === 'producer') store.producers.set(layerIndex, this.role.record);
    this.role.record.sharing = this.role.record.consumers.length + 1;
    store.roles.set(layerIndex, this.role);
    const width = this.heads * this.headDim;
    const kvWidth = this.kvHeads * this.headDim;
    const bias = options.bias;
    // Parameter names and init streams of @weft/nn's "mha" (and @weft/heads-cla's "cla").
    this.wq = this.addModule('wq', new Linear(dims.dModel, width, rng.fork('wq'), { bias }));
    if (this.role.role === 'producer') {
      this.wk = this.addModule('wk', new Linear(dims.dModel, kvWidth, rng.fork('wk'), { bias }));
      this.wv = this.addModule('wv', new Linear(dims.dModel, kvWidth, rng.fork('wv'), { bias }));
    }
    const outStd = 0.02 / Math.sqrt(2 * dims.layers);
    this.wo = this.addModule('wo', new Linear(width, dims.dModel, rng.fork('wo'), { bias, weightInit: (sh, r) => r.normalArray(sh[0] * sh[1], 0, outStd) }));
  }

  /** x [B, L, D] -> q [B, H, L, Dh]; k, v [B, Hkv, L, Dh] (the group's first layer's). */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => {
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, L, Dh]
      if (this.role.role === 'consumer') return { q, ...this.takeShared(ctx) };
      let k = splitHeads(this.wk!.forward(x), this.kvHeads); // [B, Hkv, L, Dh]
      let v = splitHeads(this.wv!.forward(x), this.kvHeads); // [B, Hkv, L, Dh]
      // Training: hand the kernel k/v expanded to H heads by a differentiable gather (tfjs 4.22
      // has no gradient for the rank-5 tile @weft/nn's kernels repeat kv heads with).
      if (ctx.training && this.kvHeads !== this.heads) [k, v] = [expandKvHeads(k, this.heads), expandKvHeads(v, this.heads)]; // [B, H, L, Dh]
      const readers = this.role.record.consumers.length;
      if (readers > 0) ctx.scratch.set(scratchKey(this.layerIndex), { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)), remaining: readers } satisfies SharedKV);
      return { q, k, v };
    });
  }

  /** A later layer of the group takes the first layer's K/V from this forward's scratch; the last one frees them. */
  private takeShared(ctx: ForwardContext | StepContext): { k: Tensor; v: Tensor } {
    const key = scratchKey(this.role.producer);
    const shared = ctx.scratch.get(key) as SharedKV | undefined;
    if (!shared) {
      throw new StateError(`Layer ${this.layerIndex} (MLKV) found no keys/values from layer ${this.role.producer} in this forward: run the model's layers in order (model.forward / model.step), not one layer alone.`);
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

/** [B, Hkv, L, Dh] -> [B, H, L, Dh]: head h gets kv head ⌊h / (H / Hkv)⌋ (HF repeat_kv order). */
function expandKvHeads(kv: Tensor, heads: number): Tensor {
  const group = heads / (kv.shape as number[])[1];
  return tf.gather(kv, tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'), 1);
}
