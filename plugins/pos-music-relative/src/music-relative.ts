/**
 * Music Transformer relative attention (Huang et al., arXiv:1809.04281, §3.4.1): dense causal
 * attention plus a relative-position term S_rel computed with the "skewing" trick, so the
 * relative embeddings cost O(L·Dh) memory instead of Shaw et al.'s L×L×Dh gather.
 *
 * Notation (the paper's §3.1, §3.4):
 *   B batch, H heads, Lq queries, Lk keys, Dh head width, M = maxRelative,
 *   E_r [M, Dh] relative embeddings (one per layer, shared across heads — the paper; or one
 *   per head with `perHead`), E_r[d] the embedding of distance d = i − j ≥ 0 (query i sees key
 *   j ≤ i), distances ≥ M use E_r[M − 1] (Shaw et al.'s clipping),
 *   iₐ = i + queryOffset the query's absolute index among the keys (decoding with a cache).
 *
 *   S_rel[i, j]   = Q_i · E_r[iₐ − j]                          (Shaw et al. 2018 / Eq. 3's S^rel)
 *   Z             = Q Kᵀ + S_rel                                (Eq. 3)
 *   RelativeAttention = Softmax(scale · Z + bias + mask) V      (Eq. 3, scale = Dh^-1/2)
 *
 * Skewing (§3.4.1), generalised to Lq ≤ Lk: with the embeddings laid out by descending distance,
 *   Ê[c]  = E_r[min(Lk − 1 − c, M − 1)]                        [Lk, Dh]
 *   R     = Q Êᵀ                                               [B, H, Lq, Lk], R[i, c] = Q_i · E_r[Lk − 1 − c]
 *   pad one zero column on the left, flatten each (b, h) to Lq·(Lk + 1) values, drop the first
 *   Lq and reshape the next Lq·Lk to [Lq, Lk]: S_rel[i, j] = R[i, j + Lq − 1 − i], which is
 *   R's column for distance iₐ − j. Entries with j > iₐ read wrapped values and are masked.
 * For Lq = Lk this is the paper's pad / reshape to [L + 1, L] / slice-off-the-first-row.
 */
import {
  init,
  Module,
  ShapeError,
  tf,
  z,
  type AttentionContext,
  type AttentionKernel,
  type Rng,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { attentionMask, repeatKvHeads, scaleLogits } from '@weft/nn';

export const MusicRelativeOptions = z.object({
  /** M: relative distances with their own embedding (0..M−1); larger ones share E_r[M−1]. Default: the model's maxLen. */
  maxRelative: z.number().int({ message: 'maxRelative must be a whole number of positions' }).positive({ message: 'maxRelative must be >= 1 (e.g. the model maxLen)' }).optional(),
  /** One E_r per head instead of one shared by all heads of the layer (the paper shares). */
  perHead: z.boolean().default(false),
});
export type MusicRelativeOptions = z.output<typeof MusicRelativeOptions>;

/** Causal only: the skewing trick as the paper states it fills the lower triangle. */
export const musicRelativeCapabilities: SlotCapabilities['attention'] = {
  causal: true,
  bidirectional: false,
  bias: true,
  padding: true,
  segments: true,
  decode: true,
  weights: true,
};

/** Large negative logit for masked pairs (finite, so a fully masked row does not give NaN). */
const MASKED = -1e9;

/** The skew: R [B, H, Lq, Lk] (columns by descending distance) -> S_rel [B, H, Lq, Lk]. */
export function skew(R: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, Lk] = R.shape as [number, number, number, number];
    const padded = tf.pad(R, [[0, 0], [0, 0], [0, 0], [1, 0]]); // [B, H, Lq, Lk + 1]
    const flat = tf.reshape(padded, [B, H, Lq * (Lk + 1)]); // [B, H, Lq·(Lk + 1)]
    return tf.reshape(tf.slice(flat, [0, 0, Lq], [B, H, Lq * Lk]), [B, H, Lq, Lk]); // [B, H, Lq, Lk]
  });
}

/**
 * S_rel [B, H, Lq, Lk] = skew(Q Êᵀ) for queries q [B, H, Lq, Dh] aligned to the last Lq of Lk
 * keys; er is E_r [M, Dh] (shared) or [H, M, Dh] (per head).
 */
export function relativeLogits(q: Tensor, er: Tensor, Lk: number, M: number): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, Dh] = q.shape as [number, number, number, number];
    const idx = tf.tensor1d(Array.from({ length: Lk }, (_, c) => Math.min(Lk - 1 - c, M - 1)), 'int32'); // [Lk] distance of column c
    let R: Tensor;
    if (er.rank === 3) {
      const E = tf.gather(er, idx, 1); // [H, Lk, Dh] Ê per head
      R = tf.matMul(q, tf.broadcastTo(tf.expandDims(E, 0), [B, H, Lk, Dh]), false, true); // [B, H, Lq, Lk]
    } else {
      const E = tf.gather(er, idx, 0); // [Lk, Dh] Ê
      R = tf.reshape(tf.matMul(tf.reshape(q, [B * H * Lq, Dh]), E, false, true), [B, H, Lq, Lk]); // [B, H, Lq, Lk]
    }
    return skew(R);
  });
}

export class MusicRelativeAttention extends Module implements AttentionKernel {
  readonly supports = musicRelativeCapabilities;
  /** E_r: [M, Dh] shared, or [H, M, Dh] per head. */
  readonly er: tf.Variable;
  readonly maxRelative: number;

  constructor(
    readonly options: MusicRelativeOptions,
    readonly dims: { heads: number; headDim: number; maxLen: number },
    rng: Rng,
  ) {
    super();
    this.maxRelative = options.maxRelative ?? dims.maxLen;
    const shape = options.perHead ? [dims.heads, this.maxRelative, dims.headDim] : [this.maxRelative, dims.headDim];
    // tensor2tensor's relative embeddings: N(0, Dh^-1/2).
    this.er = this.addParameter('er', shape, init.normal(dims.headDim ** -0.5), rng);
  }

  /** S_rel [B, H, Lq, Lk] for queries q [B, H, Lq, Dh] aligned to the last Lq of Lk keys. */
  relativeLogits(q: Tensor, Lk: number): Tensor {
    return relativeLogits(q, this.er, Lk, this.maxRelative);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, Lq, Dh] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    if (!ctx.causal) throw new ShapeError('music-relative: the skewing trick is causal only; use it in a causal model or pick the "dense" kernel with a relative bias (e.g. t5-bias) for bidirectional attention');
    if (ctx.queryOffset !== Lk - Lq) {
      throw new ShapeError(`music-relative: queries must be the last Lq of the Lk keys (queryOffset = Lk − Lq = ${Lk - Lq}); got queryOffset ${ctx.queryOffset}`);
    }
    const expectHeads = this.options.perHead ? this.dims.heads : H;
    if (H !== expectHeads || Dh !== this.dims.headDim) {
      throw new ShapeError(`music-relative: E_r was built for ${this.dims.heads} heads of width ${this.dims.headDim}, got q with ${H} heads of width ${Dh}; build the kernel with the model's dims`);
    }
    return tf.tidy(() => {
      const z = tf.add(tf.matMul(q, repeatKvHeads(k, H), false, true), this.relativeLogits(q, Lk)); // [B, H, Lq, Lk] Q Kᵀ + S_rel
      let logits = scaleLogits(z, ctx.scale);
      if (ctx.logitBias) logits = tf.add(logits, ctx.logitBias({ start: 0, end: Lq }, { start: 0, end: Lk }));
      const allowed = attentionMask(Lq, Lk, ctx)!; // causal is always set
      logits = tf.add(logits, tf.mul(tf.sub(1, allowed), MASKED));
      const anyAllowed = tf.cast(tf.greater(tf.sum(allowed, -1, true), 0), 'float32'); // [B|1, 1, Lq, 1]
      const p = tf.mul(tf.softmax(logits), anyAllowed); // [B, H, Lq, Lk]
      if (ctx.recordWeights) ctx.recordWeights(p);
      return tf.matMul(p, repeatKvHeads(v, H)); // [B, H, Lq, Dv]
    });
  }
}
