/**
 * Multi-query and grouped-query attention heads.
 *
 * Shazeer 2019, "Fast Transformer Decoding: One Write-Head is All You Need" (arXiv 1911.02150),
 * §3 "Multi-Query Attention": the H query heads share ONE key head and ONE value head, so the
 * decoder's KV cache (and the memory traffic of reading it at every step) shrinks H-fold.
 * Ainslie et al. 2023, "GQA" (arXiv 2305.13245), §2.2: the general case, Hkv key/value heads,
 * each shared by a contiguous group of H/Hkv query heads (Hkv = 1 is MQA, Hkv = H is MHA).
 *
 * Notation (the paper's einsum names in brackets):
 *   B batch, L length, D model width (d), H query heads (h), Hkv key/value heads,
 *   Dh head width (k = v), G = H / Hkv query heads per group.
 *   P_q [D, H·Dh], P_k, P_v [D, Hkv·Dh], P_o [H·Dh, D]   (stored [in, out]: x @ W)
 *
 *   Q = x P_q   -> [B, H, L, Dh]
 *   K = x P_k   -> [B, Hkv, L, Dh]       (MQA: Hkv = 1, the paper's "K = einsum('bmd,dk->bmk')")
 *   V = x P_v   -> [B, Hkv, L, Dh]
 *   query head h reads kv head g(h) = floor(h / G)   (contiguous groups: HF `repeat_kv`)
 *   y = concat_h(softmax(Q_h K_g(h)ᵀ / √Dh) V_g(h)) P_o
 *
 * The grouping itself is done by the attention kernel (k/v may have fewer heads than q, see
 * the slot contract); this layout only projects to Hkv heads, so the KV cache stores Hkv heads.
 * Exception, while training: @weft/nn's kernels repeat kv heads with a rank-5 `tf.tile`, whose
 * gradient tfjs 4.22 does not implement, so a training forward hands the kernel k/v already
 * expanded to H heads by a differentiable gather (same values, same groups).
 */
import { ConfigError, Module, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type SlotCapabilities, type StepContext, type Tensor, tf } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';

/** Options of kind "mqa": one key/value head. */
export const MqaOptions = z.object({
  /** Biases on the projections (the paper has none). */
  bias: z.boolean().default(false),
});
export type MqaOptions = z.output<typeof MqaOptions>;

/** Options of kind "gqa": `kvHeads` key/value heads, which must divide the model's `heads`. */
export const GqaOptions = z.object({
  kvHeads: z.number().int().positive(),
  bias: z.boolean().default(false),
});
export type GqaOptions = z.output<typeof GqaOptions>;

export const groupedQueryCapabilities: SlotCapabilities['heads'] = { decode: true };

/**
 * Check Hkv against H (the model's `heads`, known only when the layer is built) and name the
 * field, the value and the fix.
 */
export function checkKvHeads(heads: number, kvHeads: number, path: string): void {
  if (heads % kvHeads === 0) return;
  const divisors = Array.from({ length: heads }, (_, i) => i + 1).filter((d) => heads % d === 0);
  throw new ConfigError(
    `${path}.kvHeads`,
    `kvHeads ${kvHeads} does not divide heads ${heads}: each key/value head serves a contiguous group of heads / kvHeads query heads. ` +
      `Use one of ${divisors.join(', ')} (1 is multi-query attention, ${heads} is ordinary multi-head attention).`,
  );
}

export interface GroupedQueryOptions {
  kvHeads: number;
  bias: boolean;
  /** Std of the output projection's init (GPT-2: 0.02 / √(2·layers), as @weft/nn's "mha"). */
  outStd: number;
}

export class GroupedQueryHeads extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;

  constructor(dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim'>, rng: Rng, options: GroupedQueryOptions) {
    super();
    this.heads = dims.heads;
    this.kvHeads = options.kvHeads;
    this.headDim = dims.headDim;
    const bias = options.bias;
    // Same parameter names and init streams as @weft/nn's MultiHeadLayout, so checkpoints map
    // one to one and kvHeads = heads reproduces "mha" bit for bit.
    this.wq = this.addModule('wq', new Linear(dims.dModel, this.heads * this.headDim, rng.fork('wq'), { bias }));
    this.wk = this.addModule('wk', new Linear(dims.dModel, this.kvHeads * this.headDim, rng.fork('wk'), { bias }));
    this.wv = this.addModule('wv', new Linear(dims.dModel, this.kvHeads * this.headDim, rng.fork('wv'), { bias }));
    this.wo = this.addModule(
      'wo',
      new Linear(this.heads * this.headDim, dims.dModel, rng.fork('wo'), { bias, weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, options.outStd) }),
    );
  }

  /** x [B, L, D] -> q [B, H, L, Dh], k and v [B, Hkv, L, Dh] ([B, H, L, Dh] while training). */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => {
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, L, Dh]
      const k = splitHeads(this.wk.forward(x), this.kvHeads); // [B, Hkv, L, Dh]
      const v = splitHeads(this.wv.forward(x), this.kvHeads); // [B, Hkv, L, Dh]
      if (!ctx.training || this.kvHeads === this.heads) return { q, k, v };
      return { q, k: expandKvHeads(k, this.heads), v: expandKvHeads(v, this.heads) }; // [B, H, L, Dh]
    });
  }

  /** o [B, H, L, Dh] -> [B, L, D]. */
  output(o: Tensor, _ctx: ForwardContext | StepContext): Tensor {
    return tf.tidy(() => this.wo.forward(mergeHeads(o))); // [B, L, H·Dh] -> [B, L, D]
  }
}

/** [B, Hkv, L, Dh] -> [B, H, L, Dh]: head h gets kv head floor(h / (H / Hkv)) (differentiable gather). */
export function expandKvHeads(kv: Tensor, heads: number): Tensor {
  return tf.tidy(() => {
    const kvHeads = (kv.shape as number[])[1];
    const group = heads / kvHeads;
    const source = tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'); // [H]
    return tf.gather(kv, source, 1); // [B, H, L, Dh]
  });
}

/** GPT-2's residual-branch init, as @weft/nn uses for "mha". */
export const residualStd = (layers: number): number => 0.02 / Math.sqrt(2 * layers);
