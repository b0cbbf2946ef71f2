/**
 * The "cottention" attention kernel: cosine attention (./cosine-attention.ts) with its learned
 * per-head exponent m_h. It is a core Module so that m_h is a trained, checkpointed parameter
 * (the attention mixer adopts kernels that are Modules as children: `…mixer.kernel.m`).
 *
 * Shapes: q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv]; m [H].
 * Decoding: `initState` / `attendStep` keep S = Σ k̂_jᵀ v_j / (j+1)^σ_h and the token count.
 */
import {
  init,
  Module,
  ShapeError,
  StateError,
  tf,
  type AttentionCapabilities,
  type AttentionContext,
  type AttentionKernel,
  type AttentionStateDims,
  type LayerState,
  type Rng,
  type Tensor,
} from '@weft/core';
import { causalCosine, causalScaledValues, cottention, l2normalize, repeatHeads } from './cosine-attention.js';
import { CottentionState } from './cottention-state.js';

export interface CottentionKernelOptions {
  /** Chunk length C of the causal training form. */
  chunkSize: number;
}

export const COTTENTION_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

/** m_h's initial value in the reference GPT code. */
export const M_INIT = 0.5;

export class CottentionAttention extends Module implements AttentionKernel {
  static readonly kind = 'cottention';
  readonly supports = COTTENTION_CAPABILITIES;
  /** m_h per query head, [H]; σ_h = sigmoid(m_h). */
  readonly m: tf.Variable;

  constructor(
    readonly options: CottentionKernelOptions,
    readonly heads: number,
    rng: Rng,
  ) {
    super();
    this.m = this.addParameter('m', [heads], init.constant(M_INIT), rng);
  }

  private checkHeads(H: number): void {
    if (H !== this.heads) throw new ShapeError(`cottention: the kernel has m for ${this.heads} heads but got ${H} query heads; build it with the model's head count`);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    this.checkHeads(H);
    if (ctx.keyPaddingMask) throw new ShapeError('cottention: key padding is not supported (the reference normalises by the full length L); pack sequences without padding or use the linear kernel');
    if (ctx.causal && (Lk < Lq || ctx.queryOffset !== Lk - Lq)) {
      throw new ShapeError(`cottention: causal attention needs queryOffset = Lk - Lq (queries aligned to the last keys); got queryOffset ${ctx.queryOffset} with Lq ${Lq}, Lk ${Lk}`);
    }
    // ctx.scale is ignored: cosine attention has no 1/sqrt(d).
    return cottention(q, k, v, this.m, { causal: ctx.causal, chunkSize: this.options.chunkSize });
  }

  /** Zero state S_0 = 0, one [Dh, Dh] matrix per query head, at token 0. */
  initState(batch: number, dims: AttentionStateDims): CottentionState {
    this.checkHeads(dims.heads);
    return new CottentionState(tf.keep(tf.zeros([batch, dims.heads, dims.headDim, dims.headDim])), 0);
  }

  /**
   * Causal decoding of T new tokens (the RNN form, run chunkwise from S): q [B, H, T, Dh],
   * k [B, Hkv, T, Dh], v [B, Hkv, T, Dv]. Consumes `state`; returns [B, H, T, Dv] and the next state.
   */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof CottentionState)) {
      throw new StateError("cottention: attendStep needs the state from this kernel's initState (a CottentionState); create the cache with model.initCache(batch)");
    }
    if (!ctx.causal) throw new ShapeError('cottention: attendStep decodes causally; a bidirectional model has no decoding state');
    const [B, H, T, D] = q.shape as number[];
    this.checkHeads(H);
    if ((k.shape as number[])[2] !== T) throw new ShapeError(`cottention: attendStep expects as many new keys as new queries; got q [${q.shape}] and k [${k.shape}]`);
    const [Bs, Hs, Ds] = state.S.shape as number[];
    if (Bs !== B || Hs !== H || Ds !== D) {
      throw new StateError(`cottention: the state holds S [${state.S.shape}] but the new queries are [${q.shape}]; the state belongs to another batch size or layer`);
    }
    const [out, S] = tf.tidy(() => {
      const kh = repeatHeads(l2normalize(k), H); // [B, H, T, Dh]
      const vt = causalScaledValues(repeatHeads(v, H), this.m, state.tokens); // [B, H, T, Dv], rows divided by (t+j+1)^σ_h
      const res = causalCosine(l2normalize(q), kh, vt, this.options.chunkSize, state.S);
      return [res.out, res.S];
    });
    const next = new CottentionState(tf.keep(S), state.tokens + T);
    state.dispose();
    return [out, next];
  }
}
