/**
 * Value residual learning (Zhou et al. 2024, "Value Residual Learning For Alleviating Attention
 * Concentration In Transformers", arXiv 2410.17897, §3): every layer after the first mixes the
 * FIRST layer's values into its own before attention, a residual path for values that keeps
 * token-level information from the bottom of the stack and counters attention concentration.
 *
 * Notation (the paper's, 1-based layers n = 1…N; code layer index ℓ = n − 1):
 *   B batch, L length, D model width, H heads, Dh head width.
 *   H_{n−1} the layer's attention input [B, L, D]; W_Q, W_K, W_V [D, H·Dh], W_O [H·Dh, D] (x @ W)
 *   Q_n = H_{n−1} W_Q^n,  K_n = H_{n−1} W_K^n,  V_n = H_{n−1} W_V^n      -> [B, H, L, Dh]
 *   A_n = softmax(Q_n K_nᵀ / √Dh)  (causal; computed by the attention kernel)
 *
 *   Vanilla:    U_n = A_n V_n
 *   ResFormer:  U_n = A_n (λ1·V_n + λ2·V_1)          for n ≥ 2 (layer 1 is vanilla)
 *               λ1 = λ2 = 0.5 (the paper's default) or trainable per layer (its learnable variant)
 *   SVFormer:   U_n = A_n V_1                         for n ≥ 2: only layer 1 has W_V, and the
 *               decoder caches K_n for every layer but V only once (kvCache kind "svformer").
 *   output_n = concat_h(U_n,h) W_O^n
 *
 * Since A_n is linear in the values, mixing V before attention equals the paper's form
 * A_n(λ1 V_n + λ2 V_1); the mixed values are what a KV cache stores for ResFormer layers.
 * V_1 reaches later layers through ctx.scratch (./first-values.ts).
 */
import { ConfigError, init, Module, tf, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';
import { publishFirstValues, takeFirstValues } from './first-values.js';
import type { ValueResidualKind, ValueResidualStore } from './model-scope.js';

/** Options of kind "resformer". */
export const ResFormerOptions = z.object({
  /** λ1: weight of the layer's own values V_n (paper default 0.5). */
  lambda1: z.number().default(0.5),
  /** λ2: weight of the first layer's values V_1 (paper default 0.5). */
  lambda2: z.number().default(0.5),
  /** Make λ1, λ2 trainable per-layer scalars, initialised to lambda1 / lambda2 (the learnable ResFormer). */
  learnable: z.boolean().default(false),
  /** Biases on the projections (the paper's models have none). */
  bias: z.boolean().default(false),
});
export type ResFormerOptions = z.output<typeof ResFormerOptions>;

/** Options of kind "svformer". */
export const SvFormerOptions = z.object({
  bias: z.boolean().default(false),
});
export type SvFormerOptions = z.output<typeof SvFormerOptions>;

export interface ValueResidualBuild {
  dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim' | 'layers'>;
  layerIndex: number;
  path: string;
  rng: Rng;
  store: ValueResidualStore;
}

export class ValueResidualHeads extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layerIndex: number;
  readonly wq: Linear;
  readonly wk: Linear;
  /** Absent in SVFormer layers after the first. */
  readonly wv?: Linear;
  readonly wo: Linear;
  /** λ1, λ2: numbers, or trainable [1] scalars (learnable ResFormer). Unused by layer 1 and SVFormer. */
  readonly lambda1: number | tf.Variable;
  readonly lambda2: number | tf.Variable;
  private readonly store: ValueResidualStore;

  constructor(readonly kind: ValueResidualKind, options: ResFormerOptions | SvFormerOptions, build: ValueResidualBuild) {
    super();
    const { dims, layerIndex, path, rng, store } = build;
    this.heads = dims.heads;
    this.kvHeads = dims.heads;
    this.headDim = dims.headDim;
    this.layerIndex = layerIndex;
    this.store = store;
    if (layerIndex > 0) {
      if (!store.kinds.has(0)) {
        throw new ConfigError(
          path,
          `layer ${layerIndex} uses headLayout "${kind}", which mixes in the first layer's values V_1, but layer 0 does not use a value-residual head layout. ` +
            'Give layer 0 headLayout { "kind": "resformer" } or { "kind": "svformer" } too (simplest: set headLayout once at the model level).',
        );
      }
      store.readers.push(layerIndex);
    }
    store.kinds.set(layerIndex, kind);
    const width = this.heads * this.headDim;
    const bias = options.bias;
    // Parameter names and init streams of @weft/nn's "mha": layer 1, and λ1 = 1, λ2 = 0, are vanilla MHA.
    this.wq = this.addModule('wq', new Linear(dims.dModel, width, rng.fork('wq'), { bias }));
    this.wk = this.addModule('wk', new Linear(dims.dModel, width, rng.fork('wk'), { bias }));
    if (kind === 'resformer' || layerIndex === 0) this.wv = this.addModule('wv', new Linear(dims.dModel, width, rng.fork('wv'), { bias }));
    const outStd = 0.02 / Math.sqrt(2 * dims.layers);
    this.wo = this.addModule('wo', new Linear(width, dims.dModel, rng.fork('wo'), { bias, weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, outStd) }));
    const res = kind === 'resformer' ? (options as ResFormerOptions) : { lambda1: 0, lambda2: 1, learnable: false };
    if (res.learnable && layerIndex > 0) {
      this.lambda1 = this.addParameter('lambda1', [1], init.constant(res.lambda1), rng.fork('lambda1'));
      this.lambda2 = this.addParameter('lambda2', [1], init.constant(res.lambda2), rng.fork('lambda2'));
    } else {
      this.lambda1 = res.lambda1;
      this.lambda2 = res.lambda2;
    }
  }

  /** x [B, L, D] -> q, k, v [B, H, L, Dh]; v is V_1 (layer 1), λ1·V_n + λ2·V_1 (ResFormer) or V_1 (SVFormer). */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => {
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, L, Dh]
      const k = splitHeads(this.wk.forward(x), this.heads); // [B, H, L, Dh]
      if (this.layerIndex === 0) {
        const v1 = splitHeads(this.wv!.forward(x), this.heads); // V_1 [B, H, L, Dh]
        publishFirstValues(v1, this.store.readers.length, ctx);
        return { q, k, v: v1 };
      }
      const v1 = takeFirstValues(this.layerIndex, ctx); // [B, H, L, Dh]
      if (this.kind === 'svformer') return { q, k, v: v1 };
      const vn = splitHeads(this.wv!.forward(x), this.heads); // V_n [B, H, L, Dh]
      return { q, k, v: tf.add(tf.mul(vn, this.lambda1), tf.mul(v1, this.lambda2)) }; // λ1·V_n + λ2·V_1
    });
  }

  /** U [B, H, L, Dh] -> [B, L, D]. */
  output(o: Tensor, _ctx: ForwardContext | StepContext): Tensor {
    return tf.tidy(() => this.wo.forward(mergeHeads(o))); // [B, L, H·Dh] -> [B, L, D]
  }
}
