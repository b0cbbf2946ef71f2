/**
 * RelayAttention's core identity (Zhu et al. 2024, arXiv 2402.14808, §3.2, Eq. 4–6): attention
 * of a query over the union of two key sets equals a log-sum-exp-weighted merge of the
 * attention over each set.
 *
 * Notation:
 *   B batch, H query heads, Hkv key/value heads, T queries, Ls system-prompt tokens,
 *   Lr request tokens, Dh head width.
 *   O_s, lse_s  attention output [B, H, T, Dh] and log-sum-exp of the logits [B, H, T] over
 *               the system keys; O_r, lse_r the same over the request keys.
 *   Eq. 6:  O = (e^{lse_s} O_s + e^{lse_r} O_r) / (e^{lse_s} + e^{lse_r})
 *             = σ(lse_s − lse_r) O_s + σ(lse_r − lse_s) O_r
 *   lse = log Σ_j exp(q·k_j · scale)   (an empty or fully masked set has lse = −∞, weight 0)
 */
import { tf, type Tensor } from '@weft/core';

export interface AttentionWithLse {
  /** [B, H, T, Dh] */
  out: Tensor;
  /** [B, H, T] natural-log sum of exp(logits); −∞ where no key is visible. */
  lse: Tensor;
}

export interface DenseAttentionOptions {
  /** Causal mask with bottom-right alignment: query i sees key j when j ≤ i + queryOffset. */
  causal?: boolean;
  /** Defaults to Lk − T (the queries are the last T tokens). */
  queryOffset?: number;
  /** Defaults to 1/√Dh. */
  scale?: number;
}

/** Repeat Hkv key/value heads to H query heads (grouped-query layouts): [B, Hkv, L, Dh] -> [B, H, L, Dh]. */
export function repeatKvHeads(x: Tensor, H: number): Tensor {
  const Hkv = x.shape[1] as number;
  if (Hkv === H) return x;
  if (H % Hkv !== 0) throw new RangeError(`relay: ${H} query heads are not a multiple of ${Hkv} key/value heads`);
  const index = tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv))), 'int32');
  const out = tf.gather(x, index, 1); // [B, H, L, Dh]
  index.dispose();
  return out;
}

/**
 * Dense softmax attention of q [B, H, T, Dh] over k, v [B, Hkv, Lk, Dh] that also returns the
 * log-sum-exp of the (masked, scaled) logits — the quantity Eq. 6 merges with.
 */
export function attentionWithLse(q: Tensor, k: Tensor, v: Tensor, options: DenseAttentionOptions = {}): AttentionWithLse {
  return tf.tidy(() => {
    const [, H, T, Dh] = q.shape as number[];
    const Lk = k.shape[2] as number;
    const scale = options.scale ?? 1 / Math.sqrt(Dh);
    const kk = repeatKvHeads(k, H); // [B, H, Lk, Dh]
    const vv = repeatKvHeads(v, H); // [B, H, Lk, Dh]
    let logits = tf.mul(tf.matMul(q, kk, false, true), scale); // [B, H, T, Lk]
    if (options.causal) {
      const offset = options.queryOffset ?? Lk - T;
      const i = tf.reshape(tf.range(0, T, 1, 'int32'), [T, 1]);
      const j = tf.reshape(tf.range(0, Lk, 1, 'int32'), [1, Lk]);
      const visible = tf.lessEqual(j, tf.add(i, offset)); // [T, Lk]
      logits = tf.where(tf.broadcastTo(visible, logits.shape), logits, tf.fill(logits.shape, -Infinity));
    }
    if (Lk === 0) return { out: tf.zeros([...logits.shape.slice(0, 3), vv.shape[3] as number]), lse: tf.fill(logits.shape.slice(0, 3), -Infinity) };
    const max = tf.max(logits, -1, true); // [B, H, T, 1]
    const safeMax = tf.where(tf.isFinite(max), max, tf.zerosLike(max));
    const p = tf.exp(tf.sub(logits, safeMax)); // [B, H, T, Lk], masked entries 0
    const z = tf.sum(p, -1, true); // [B, H, T, 1]
    const out = tf.div(tf.matMul(p, vv), tf.maximum(z, tf.fill(z.shape, 1e-30))); // fully masked rows -> 0
    const lse = tf.squeeze(tf.add(tf.log(z), safeMax), [3]); // [B, H, T]; log 0 = −∞ where nothing is visible
    return { out, lse };
  });
}

/**
 * Eq. 6: merge the attention over the system keys and over the request keys into the attention
 * over both. o* [B, H, T, Dh], lse* [B, H, T]; the system operands may have batch 1 (broadcast).
 */
export function relayMerge(oSys: Tensor, lseSys: Tensor, oReq: Tensor, lseReq: Tensor): Tensor {
  return tf.tidy(() => {
    const shape = oReq.shape as number[];
    const ls = tf.broadcastTo(lseSys, shape.slice(0, 3));
    const lr = tf.broadcastTo(lseReq, shape.slice(0, 3));
    const m = tf.maximum(ls, lr);
    const safeM = tf.where(tf.isFinite(m), m, tf.zerosLike(m)); // both sets empty -> weights 0
    const ws = tf.expandDims(tf.exp(tf.sub(ls, safeM)), 3); // [B, H, T, 1] = e^{lse_s − m}
    const wr = tf.expandDims(tf.exp(tf.sub(lr, safeM)), 3); // [B, H, T, 1] = e^{lse_r − m}
    const num = tf.add(tf.mul(ws, tf.broadcastTo(oSys, shape)), tf.mul(wr, oReq));
    const den = tf.add(ws, wr);
    return tf.div(num, tf.maximum(den, tf.fill(den.shape, 1e-30)));
  });
}
