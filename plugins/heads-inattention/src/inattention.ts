/**
 * InAttention (Eisner 2024, "InAttention: Linear Context Scaling for Transformers",
 * arXiv 2410.07063): tokens attend only to the INITIAL states. Every layer keeps its own query
 * projection of its current hidden state, but its keys and values are projected from the
 * states the stack started with, not from the layer's input. K/V therefore never depend on
 * the layers above the embeddings: they can be computed for the whole context at once, and a
 * layer's K/V do not change when anything between the embeddings and that layer changes.
 *
 * Notation:
 *   B batch, L length, D model width, H heads, Dh head width, ℓ = 0 … N−1 layers.
 *   x_ℓ  the attention input of layer ℓ [B, L, D];  x_0 the initial states (see below)
 *   Q_ℓ = x_ℓ W_q^ℓ,   K_ℓ = x_0 W_k^ℓ,   V_ℓ = x_0 W_v^ℓ               -> [B, H, L, Dh]
 *   y_ℓ = concat_h softmax(Q_ℓ,h K_ℓ,hᵀ / √Dh) V_ℓ,h · W_o^ℓ   (causal)
 *
 * The initial states x_0 are the embedding-layer output as the first layer's attention sees it:
 * the embeddings themselves in a post-norm model, norm1_0(embeddings) in a pre-norm model (the
 * normalised embeddings, as every pre-norm projection reads normalised states). They travel from
 * layer 0 to the later layers through ctx.scratch, in forward and in decoding alike, because
 * @weft/nn's CausalLM.step does not pass `embeddings` in the StepContext (see README).
 */
import { ConfigError, Module, tf, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';
import { publishInitialStates, takeInitialStates } from './initial-states.js';
import type { InAttentionStore } from './model-scope.js';

export const InAttentionOptions = z.object({
  /** Biases on the projections. */
  bias: z.boolean().default(false),
});
export type InAttentionOptions = z.output<typeof InAttentionOptions>;

export interface InAttentionBuild {
  dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim' | 'layers'>;
  layerIndex: number;
  path: string;
  rng: Rng;
  store: InAttentionStore;
}

export class InAttentionHeads extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layerIndex: number;
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  private readonly store: InAttentionStore;

  constructor(options: InAttentionOptions, build: InAttentionBuild) {
    super();
    const { dims, layerIndex, path, rng, store } = build;
    this.heads = dims.heads;
    this.kvHeads = dims.heads;
    this.headDim = dims.headDim;
    this.layerIndex = layerIndex;
    this.store = store;
    if (layerIndex === 0) store.hasFirstLayer = true;
    else if (!store.hasFirstLayer) {
      throw new ConfigError(
        path,
        `layer ${layerIndex} uses headLayout "inattention", which projects keys/values from the initial states that layer 0 provides, but layer 0 does not use headLayout "inattention". ` +
          'Give layer 0 headLayout { "kind": "inattention" } too (simplest: set headLayout once at the model level).',
      );
    } else store.readers.push(layerIndex);
    const width = this.heads * this.headDim;
    const bias = options.bias;
    // Parameter names and init streams of @weft/nn's "mha" (layer 0 is exactly "mha").
    this.wq = this.addModule('wq', new Linear(dims.dModel, width, rng.fork('wq'), { bias }));
    this.wk = this.addModule('wk', new Linear(dims.dModel, width, rng.fork('wk'), { bias }));
    this.wv = this.addModule('wv', new Linear(dims.dModel, width, rng.fork('wv'), { bias }));
    const outStd = 0.02 / Math.sqrt(2 * dims.layers);
    this.wo = this.addModule('wo', new Linear(width, dims.dModel, rng.fork('wo'), { bias, weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, outStd) }));
  }

  /** x_ℓ [B, L, D] -> Q_ℓ = x_ℓ W_q [B, H, L, Dh]; K_ℓ, V_ℓ = x_0 W_k, x_0 W_v [B, H, L, Dh]. */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => {
      let x0 = x;
      if (this.layerIndex === 0) publishInitialStates(x, this.store.readers.length, ctx);
      else x0 = takeInitialStates(this.layerIndex, ctx); // [B, L, D]
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, L, Dh]
      const k = splitHeads(this.wk.forward(x0), this.heads); // [B, H, L, Dh]
      const v = splitHeads(this.wv.forward(x0), this.heads); // [B, H, L, Dh]
      return { q, k, v };
    });
  }

  /** o [B, H, L, Dh] -> [B, L, D]. */
  output(o: Tensor, _ctx: ForwardContext | StepContext): Tensor {
    return tf.tidy(() => this.wo.forward(mergeHeads(o))); // [B, L, H·Dh] -> [B, L, D]
  }
}
