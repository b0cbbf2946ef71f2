/**
 * Dense softmax attention, the exact baseline every other kernel is compared with:
 *   O = softmax(scale · Q Kᵀ + bias + mask) V        (Vaswani et al. 2017, eq. 1)
 * Masks: causal (query i sees key j iff j <= i + queryOffset), key padding, segment ids.
 * Fully masked rows output 0. Grouped-query attention: query head h reads kv head
 * floor(h / (H / Hkv)). Heads of a group are contiguous, so the kernel never repeats k/v:
 * q [B, H, Lq, Dh] is viewed as [B, Hkv, G·Lq, Dh] (G = H / Hkv, a pure reshape) and multiplied
 * with the un-repeated k [B, Hkv, Lk, Dh]; logits [B, Hkv, G·Lq, Lk] are the same memory as
 * [B, H, Lq, Lk]. (Repeating a decoding cache to H heads at every step dominated decode time.)
 */
import { tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Tensor } from '@weft/core';

/** Large negative logit for masked pairs (finite, so a fully masked row does not give NaN). */
const MASKED = -1e9;

/**
 * [1, 1, Lq, Lk] float32, 1 where key j ≤ i + queryOffset. Filled on the host: tfjs's broadcast
 * comparison of [Lq, 1] with [1, Lk] was ~10 ms for 256 × 256 on wasm.
 */
function causalMask(Lq: number, Lk: number, queryOffset: number): Tensor {
  const data = new Float32Array(Lq * Lk);
  for (let i = 0; i < Lq; i++) {
    const visible = Math.max(0, Math.min(Lk, i + queryOffset + 1));
    data.fill(1, i * Lk, i * Lk + visible);
  }
  return tf.tensor4d(data, [1, 1, Lq, Lk]);
}

/** Whether some query row may be fully masked (only padding, segments or a negative offset can do it). */
function mayMaskWholeRows(Lk: number, ctx: AttentionContext): boolean {
  return Boolean(ctx.keyPaddingMask || (ctx.querySegmentIds && ctx.keySegmentIds) || Lk === 0 || (ctx.causal && ctx.queryOffset < 0));
}

/** 1 where query i may see key j, as [B or 1, 1, Lq, Lk] float32 (or null when nothing is masked). */
export function attentionMask(Lq: number, Lk: number, ctx: AttentionContext): Tensor | null {
  const parts: Array<() => Tensor> = [];
  if (ctx.causal) parts.push(() => causalMask(Lq, Lk, ctx.queryOffset));
  const padding = ctx.keyPaddingMask;
  if (padding) parts.push(() => tf.reshape(tf.cast(padding, 'float32'), [-1, 1, 1, Lk]));
  const qs = ctx.querySegmentIds;
  const ks = ctx.keySegmentIds;
  if (qs && ks) parts.push(() => tf.cast(tf.equal(tf.reshape(qs, [-1, 1, Lq, 1]), tf.reshape(ks, [-1, 1, 1, Lk])), 'float32'));
  if (!parts.length) return null;
  return tf.tidy(() => parts.map((make) => make()).reduce((a, b) => tf.mul(a, b)));
}

/** Scale as a number or a per-head [1, H, 1, 1] tensor. */
export function scaleLogits(logits: Tensor, scale: number | Tensor): Tensor {
  if (typeof scale === 'number') return tf.mul(logits, scale);
  return tf.mul(logits, tf.reshape(scale, [1, -1, 1, 1]));
}

/**
 * a [B, H, M, N] times b [B, Hkv, N, P] (or bᵀ when transposeB: [B, Hkv, P, N]) for query heads
 * h reading kv head floor(h / G): one batched matmul over [B, Hkv, G·M, N], no repeat.
 */
export function groupedMatMul(a: Tensor, b: Tensor, transposeB: boolean): Tensor {
  const [B, H, M, N] = a.shape as number[];
  const Hkv = (b.shape as number[])[1];
  if (Hkv === H) return tf.matMul(a, b, false, transposeB);
  const out = tf.matMul(tf.reshape(a, [B, Hkv, (H / Hkv) * M, N]), b, false, transposeB); // [B, Hkv, G·M, P]
  return tf.reshape(out, [B, H, M, (out.shape as number[])[3]]); // [B, H, M, P]
}

export class DenseAttention implements AttentionKernel {
  readonly supports: AttentionCapabilities = {
    causal: true,
    bidirectional: true,
    bias: true,
    padding: true,
    segments: true,
    decode: true,
    weights: true,
  };

  /** softmax weights [B, H, Lq, Lk], fully masked rows all 0. */
  weights(q: Tensor, k: Tensor, ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      const [Lq, Lk] = [(q.shape as number[])[2], (k.shape as number[])[2]];
      let logits = scaleLogits(groupedMatMul(q, k, true), ctx.scale); // [B, H, Lq, Lk]
      if (ctx.logitBias) logits = tf.add(logits, ctx.logitBias({ start: 0, end: Lq }, { start: 0, end: Lk }));
      const allowed = attentionMask(Lq, Lk, ctx);
      if (!allowed) return tf.softmax(logits);
      logits = tf.add(logits, tf.mul(tf.sub(1, allowed), MASKED));
      if (!mayMaskWholeRows(Lk, ctx)) return tf.softmax(logits);
      const anyAllowed = tf.cast(tf.greater(tf.sum(allowed, -1, true), 0), 'float32'); // [B|1, 1, Lq, 1]
      return tf.mul(tf.softmax(logits), anyAllowed);
    });
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      const p = this.weights(q, k, ctx);
      if (ctx.recordWeights) ctx.recordWeights(p);
      return groupedMatMul(p, v, false); // [B, H, Lq, Dv]
    });
  }
}
