/**
 * SwitchHead (Csordás, Piękos, Irie, Schmidhuber 2023, arXiv:2312.07987): attention whose
 * value and output projections are σ-MoE layers, one expert set per head.
 *
 * Notation (the paper's §3): x_t [D] token t, H heads of width Dh, E experts per head, k
 * active experts, σ the logistic sigmoid.
 *
 *   s^S_h = σ(x W^S_h)                  source-side selection scores [L, E] (per head h)
 *   s^D_h = σ(x W^D_h)                  destination-side selection scores [L, E]
 *   E^S_h = top-k(s^S_h),  E^D_h = top-k(s^D_h)                (ties: lower expert index)
 *   Q_h = x W^Q_h,  K_h = x W^K_h       dense, as in multi-head attention
 *   V_h = Σ_{e ∈ E^S_h} s^S_h,e · x W^V_h,e                     (value experts, chosen by the source token)
 *   A_h = softmax(Q_h K_hᵀ / √Dh)       (done by the attention kernel)
 *   y   = Σ_h Σ_{e ∈ E^D_h} s^D_h,e · (A_h V_h) W^O_h,e         (output experts, chosen by the destination token)
 *
 * The gates are the sigmoid scores themselves (σ-MoE: no softmax, no renormalisation). The
 * source token of V_h's row t is token t, and the destination token of output row t is
 * token t, so both selections are per token: `project` selects the value experts from x, and
 * `output` selects the output experts from the same x, which it finds in the forward's
 * scratch space (the head-layout slot hands `output` only the attention result).
 *
 * Compute: the experts are evaluated densely and masked (gates outside the top-k are 0), so
 * this tfjs port does E× the V/O projection FLOPs; the paper's speed comes from needing fewer
 * heads (fewer attention matrices) for the same quality, which holds here unchanged.
 */
import { ConfigError, init, Module, StateError, tf, z, type ForwardContext, type HeadLayout, type ModelDims, type Rng, type SlotCapabilities, type StepContext, type Tensor } from '@weft/core';

export const SwitchHeadOptions = z
  .object({
    /** E: experts per head for the value and the output projection. */
    experts: z.number({ error: 'experts must be an integer ≥ 1, e.g. 4' }).int({ error: 'experts must be an integer, e.g. 4' }).min(1, { error: 'experts must be ≥ 1 (1 is multi-head attention with σ-gated V and O)' }).default(4),
    /** k: active experts per head and token. */
    topK: z.number({ error: 'topK must be an integer ≥ 1, e.g. 2' }).int({ error: 'topK must be an integer, e.g. 2' }).min(1, { error: 'topK must be ≥ 1' }).default(2),
  })
  .superRefine((o, ctx) => {
    if (o.topK > o.experts) {
      ctx.addIssue({ code: 'custom', path: ['topK'], input: o.topK, message: `topK (${o.topK}) cannot exceed experts (${o.experts}): each head picks topK distinct experts. Lower topK or raise experts` });
    }
  });
export type SwitchHeadOptions = z.output<typeof SwitchHeadOptions>;

let nextInstance = 0;

/**
 * 1 on the k largest entries of the last axis (ties: lower index), else 0. The selection is
 * discrete: no gradient flows through it (tfjs has no TopK gradient, so it is cut here).
 */
export function topKMask(scores: Tensor, k: number): Tensor {
  const E = scores.shape[scores.shape.length - 1];
  const f = tf.customGrad(((s: Tensor) => ({
    // int32 one-hot, then cast: tfjs-backend-wasm 4.22's OneHot ignores its dtype argument.
    value: tf.tidy(() => tf.cast(tf.sum(tf.oneHot(tf.topk(s, k).indices, E), -2), 'float32')), // [..., E]
    gradFunc: (_dy: Tensor) => tf.zerosLike(s),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(scores);
}

export const switchHeadCapabilities: SlotCapabilities['heads'] = { decode: true };

/** Which σ-MoE: the value projection (selected by the source token) or the output projection (by the destination token). */
export type Side = 'value' | 'output';

export class SwitchHeadLayout extends Module implements HeadLayout {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly experts: number;
  readonly topK: number;
  readonly dModel: number;
  readonly wq: tf.Variable; // [D, H·Dh]
  readonly wk: tf.Variable; // [D, H·Dh]
  readonly wv: tf.Variable; // [D, H·E·Dh]: column (h, e, d)
  readonly wo: tf.Variable; // [H·E·Dh, D]: row (h, e, d)
  readonly selV: tf.Variable; // W^S [D, H·E]: column (h, e)
  readonly selO: tf.Variable; // W^D [D, H·E]
  /** Scratch key under which `project` leaves its input x for `output` (one per instance). */
  private readonly inputKey = `@weft/moe-switchhead.x.${nextInstance++}`;

  constructor(dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim'>, options: SwitchHeadOptions, rng: Rng, outStd = 0.02) {
    super();
    this.dModel = dims.dModel;
    this.heads = this.kvHeads = dims.heads;
    this.headDim = dims.headDim;
    this.experts = options.experts;
    this.topK = options.topK;
    const [D, H, Dh, E] = [this.dModel, this.heads, this.headDim, this.experts];
    this.wq = this.addParameter('wq', [D, H * Dh], init.normal(0.02), rng.fork('wq'));
    this.wk = this.addParameter('wk', [D, H * Dh], init.normal(0.02), rng.fork('wk'));
    this.wv = this.addParameter('wv', [D, H * E * Dh], init.normal(0.02), rng.fork('wv'));
    this.wo = this.addParameter('wo', [H * E * Dh, D], init.normal(outStd), rng.fork('wo'));
    this.selV = this.addParameter('selV', [D, H * E], init.normal(0.02), rng.fork('selV'));
    this.selO = this.addParameter('selO', [D, H * E], init.normal(0.02), rng.fork('selO'));
  }

  /**
   * σ-MoE selection for x [B, L, D]: scores s = σ(x W) [B, L, H, E] and the gates g = s on
   * the top-k experts of each (token, head), 0 elsewhere.
   */
  selection(x: Tensor, side: Side): { scores: Tensor; gates: Tensor } {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const [H, E] = [this.heads, this.experts];
      const scores = tf.reshape(tf.sigmoid(tf.matMul(tf.reshape(x, [B * L, D]), side === 'value' ? this.selV : this.selO)), [B, L, H, E]); // [B, L, H, E]
      if (this.topK === E) return { scores, gates: scores };
      return { scores, gates: tf.mul(scores, topKMask(scores, this.topK)) };
    });
  }

  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    ctx.scratch.set(this.inputKey, x);
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const [H, E, Dh] = [this.heads, this.experts, this.headDim];
      const xf = tf.reshape(x, [B * L, D]); // [N, D]
      const heads = (w: Tensor) => tf.transpose(tf.reshape(tf.matMul(xf, w), [B, L, H, Dh]), [0, 2, 1, 3]); // [B, H, L, Dh]
      // V_h = Σ_e s^S_h,e · x W^V_h,e
      const { gates } = this.selection(x, 'value'); // [B, L, H, E]
      const perExpert = tf.reshape(tf.matMul(xf, this.wv), [B, L, H, E, Dh]); // [B, L, H, E, Dh]
      const v = tf.sum(tf.mul(perExpert, tf.reshape(gates, [B, L, H, E, 1])), 3); // [B, L, H, Dh]
      return { q: heads(this.wq), k: heads(this.wk), v: tf.transpose(v, [0, 2, 1, 3]) }; // [B, H, L, Dh]
    });
  }

  output(o: Tensor, ctx: ForwardContext | StepContext): Tensor {
    const x = ctx.scratch.get(this.inputKey) as Tensor | undefined;
    if (!x) throw new StateError('SwitchHead: output() needs the layer input x to select the output experts; call project(x, ctx) first with the same ctx.');
    return tf.tidy(() => {
      const [B, H, L, Dh] = o.shape as [number, number, number, number];
      const E = this.experts;
      // y = Σ_h Σ_e s^D_h,e · o_h W^O_h,e: scale o_h by each expert's gate, then one matmul.
      const { gates } = this.selection(x, 'output'); // [B, L, H, E]
      const oh = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, L, H, 1, Dh]); // [B, L, H, 1, Dh]
      const gated = tf.mul(oh, tf.reshape(gates, [B, L, H, E, 1])); // [B, L, H, E, Dh]
      return tf.reshape(tf.matMul(tf.reshape(gated, [B * L, H * E * Dh]), this.wo), [B, L, this.dModel]); // [B, L, D]
    });
  }
}

/** Refuse a head layout the model cannot use. */
export function checkSwitchHeadDims(dims: Pick<ModelDims, 'heads' | 'headDim'>, path: string): void {
  if (!Number.isInteger(dims.headDim) || dims.headDim < 1) {
    throw new ConfigError(`${path}`, `switchhead needs an integer head width, got headDim ${dims.headDim}; set the model's "headDim" (SwitchHead uses few, wide heads, e.g. heads 2, headDim 64).`);
  }
}
