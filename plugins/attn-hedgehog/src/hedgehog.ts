/**
 * Hedgehog — Zhang, Bhatia, Kumbong, Ré, "The Hedgehog & the Porcupine: Expressive Linear
 * Attentions with Softmax Mimicry" (ICLR 2024, arXiv 2402.04347): linear attention whose
 * feature map is a trainable single layer, distilled to reproduce softmax attention weights.
 *
 * Notation (paper → code), per head h; rows are positions:
 *   q, k ∈ R^d              [B, H, N, Dh]
 *   φ(x) = [exp(x W_h + b_h), exp(−x W_h − b_h)] ∈ R^{2d}     `featureMap`
 *                           W_h [Dh, Dh] initialised to the identity, b_h [Dh] to 0  `W`, `b`
 *   Hedgehog weights  a_ij = φ(q_i)·φ(k_j) / Σ_{j'} φ(q_i)·φ(k_{j'})   (j, j' ≤ i when causal)
 *   output            y_i  = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / φ(q_i)ᵀ Σ_j φ(k_j)   — linear in N
 *   distillation      ℓ = mean_i KL( softmax_j(scale · q_i·k_j) ‖ a_i· )   (teacher: softmax with
 *                     the mixer's scale; only W, b are meant to be trained by it) `attentionKL`
 *   C                chunk length of the causal parallel form              `chunkSize`
 * The student uses no 1/√d (W absorbs it). Causal output in chunks (`causalChunked`: masked
 * products within a chunk, a carried state S = Σ φ(k_j)[v_j, 1]ᵀ across chunks); decoding
 * continues the same form from that state (`initState` / `attendStep`, constant memory).
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
import { causalChunked } from './chunked.js';
import { HedgehogState } from './hedgehog-state.js';

export const HEDGEHOG_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

/** φ(x) = [exp(xW + b), exp(−xW − b)]: x [B, H, N, Dh], W [H, Dh, Dh], b [H, Dh] → [B, H, N, 2·Dh]. */
export function featureMap(x: Tensor, W: Tensor, b: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, , D] = x.shape as number[];
    const Wb = tf.tile(tf.reshape(W, [1, H, D, D]), [B, 1, 1, 1]); // [B, H, Dh, Dh] (tiled: tfjs 4.22's matMul gradient does not reduce broadcast batch dims)
    const z = tf.add(tf.matMul(x, Wb), tf.reshape(b, [1, H, 1, D])); // [B, H, N, Dh]
    return tf.concat([tf.exp(z), tf.exp(tf.neg(z))], -1); // [B, H, N, 2·Dh]
  });
}

/**
 * Linear attention with features fq [B, H, Nq, F], fk [B, H, N, F], values v [B, H, N, Dv]:
 * bidirectional by one state over all keys; causal (Nq = N) in chunks of `chunkSize`.
 */
export function linearAttend(fq: Tensor, fk: Tensor, v: Tensor, causal: boolean, chunkSize = 64): Tensor {
  return tf.tidy(() => {
    if (causal) return causalChunked(fq, fk, v, chunkSize).out;
    const [B, H, N, Dv] = v.shape as number[];
    const v1 = tf.concat([v, tf.ones([B, H, N, 1])], -1); // [B, H, N, Dv + 1]: last column gives the normaliser
    const y = tf.matMul(fq, tf.matMul(fk, v1, true, false)); // [B, H, Nq, Dv + 1]
    const Nq = (y.shape as number[])[2];
    return tf.div(tf.slice(y, [0, 0, 0, 0], [B, H, Nq, Dv]), tf.slice(y, [0, 0, 0, Dv], [B, H, Nq, 1])); // [B, H, Nq, Dv]
  });
}

function causalMask(n: number): Tensor {
  return tf.linalg.bandPart(tf.ones([n, n]), -1, 0); // [N, N] lower triangle
}

/**
 * The distillation loss: mean over (b, h, i) of KL(softmax teacher ‖ Hedgehog weights), both
 * row-normalised over the visible keys. q, k [B, H, N, Dh]; `scale` the teacher's logit scale.
 */
export function attentionKL(q: Tensor, k: Tensor, W: Tensor, b: Tensor, causal: boolean, scale: number | Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [, H, N] = q.shape as number[];
    const s = typeof scale === 'number' ? scale : tf.reshape(scale, [1, H, 1, 1]);
    let logits = tf.mul(tf.matMul(q, k, false, true), s); // [B, H, N, N]
    let student = tf.matMul(featureMap(q, W, b), featureMap(k, W, b), false, true); // [B, H, N, N], > 0
    if (causal) {
      const mask = causalMask(N);
      logits = tf.add(logits, tf.mul(tf.sub(1, mask), -1e9));
      student = tf.mul(student, mask);
    }
    const logP = tf.logSoftmax(logits); // teacher
    const P = tf.exp(logP);
    const logA = tf.log(tf.add(tf.div(student, tf.sum(student, -1, true)), 1e-30));
    return tf.mean(tf.sum(tf.mul(P, tf.sub(logP, logA)), -1)) as tf.Scalar;
  });
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]); // [B, H, L, D]
}

/**
 * The kernel: a core Module holding the feature map W [H, Dh, Dh] (identity) and b [H, Dh] (0).
 * While `distillation` is an array, every attend also pushes its attention-KL (a kept scalar)
 * there, so a caller can minimise it (see `distillationLoss`).
 */
export class HedgehogAttention extends Module implements AttentionKernel {
  readonly supports = HEDGEHOG_CAPABILITIES;
  readonly W: tf.Variable;
  readonly b: tf.Variable;
  distillation?: tf.Scalar[];

  constructor(readonly heads: number, readonly headDim: number, rng: Rng, readonly chunkSize = 64) {
    super();
    const eye = Array.from({ length: heads }, () => Array.from({ length: headDim * headDim }, (_, i) => (i % (headDim + 1) === 0 ? 1 : 0))).flat();
    this.W = this.addParameter('W', [heads, headDim, headDim], init.values(eye), rng);
    this.b = this.addParameter('b', [heads, headDim], init.zeros(), rng);
  }

  private check(q: Tensor, ctx: AttentionContext): void {
    const [, H, , D] = q.shape as number[];
    if (ctx.keyPaddingMask) throw new ShapeError('hedgehog attention: key padding is not supported; use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('hedgehog attention: an additive logit bias is not supported (there are no logits)');
    if (H !== this.heads || D !== this.headDim) throw new ShapeError(`hedgehog attention: built for ${this.heads} heads of width ${this.headDim}, got q [${q.shape}]`);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    this.check(q, ctx);
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    if (ctx.causal && (Lq !== Lk || ctx.queryOffset !== 0)) {
      throw new ShapeError(`hedgehog attention: causal attend needs as many queries as keys (got ${Lq} and ${Lk}); decode through the kernel state (model.initCache / model.step)`);
    }
    const kh = repeatHeads(k, H);
    if (this.distillation) this.distillation.push(tf.keep(attentionKL(q, kh, this.W, this.b, ctx.causal, ctx.scale)));
    return tf.tidy(() => linearAttend(featureMap(q, this.W, this.b), featureMap(kh, this.W, this.b), repeatHeads(v, H), ctx.causal, this.chunkSize));
  }

  /** Zero state S [B, H, 2·Dh, Dh + 1] (per query head: W, b are per head). */
  initState(batch: number, dims: AttentionStateDims): HedgehogState {
    if (dims.heads !== this.heads || dims.headDim !== this.headDim) {
      throw new StateError(`hedgehog attention: built for ${this.heads} heads of width ${this.headDim}, asked for a state of ${dims.heads} heads of width ${dims.headDim}`);
    }
    return new HedgehogState(tf.keep(tf.zeros([batch, this.heads, 2 * this.headDim, this.headDim + 1])), 0);
  }

  /**
   * Causal decoding of T new tokens from the state: q [B, H, T, Dh], k, v [B, Hkv, T, Dh].
   * Consumes `state`; returns [B, H, T, Dv] and the state after the new tokens.
   */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof HedgehogState)) {
      throw new StateError("hedgehog attention: attendStep needs the state from this kernel's initState (a HedgehogState); create the cache with model.initCache(batch)");
    }
    if (!ctx.causal) throw new ShapeError('hedgehog attention: attendStep decodes causally; a bidirectional model has no decoding state');
    this.check(q, ctx);
    const [B, H, T] = q.shape as number[];
    const [Bk, , Tk] = k.shape as number[];
    const [Bs, Hs, Fs, Es] = state.S.shape as number[];
    const Dv = (v.shape as number[])[3];
    if (Tk !== T || Bk !== B) throw new ShapeError(`hedgehog attention: attendStep expects as many new keys as new queries; got q [${q.shape}] and k [${k.shape}]`);
    if (Bs !== B || Hs !== H || Fs !== 2 * this.headDim || Es !== Dv + 1) {
      throw new StateError(`hedgehog attention: the state holds S [${state.S.shape}] but the new tokens are q [${q.shape}], v [${v.shape}]; the state belongs to another batch size or layer`);
    }
    const r = tf.tidy(() => {
      const kh = repeatHeads(k, H);
      return causalChunked(featureMap(q, this.W, this.b), featureMap(kh, this.W, this.b), repeatHeads(v, H), this.chunkSize, state.S);
    });
    const next = new HedgehogState(tf.keep(r.S), state.tokens + T);
    state.dispose();
    return [r.out, next];
  }
}
