/**
 * LongNet dilated attention — Ding et al., "LongNet: Scaling Transformers to 1,000,000,000
 * Tokens" (arXiv 2307.02486), §2.2 (dilated attention), §2.3 (multi-head dilated attention).
 *
 * Notation (paper → code):
 *   w_i    segment length of configuration i                          `segmentLengths[i]`
 *   r_i    dilated rate (keep every r_i-th row of a segment)          `dilations[i]`
 *   s_j    head offset: head j keeps in-segment offsets p ≡ s_j (mod r_i); torchscale splits the
 *          heads (padded up to a multiple of r) into r contiguous groups: s_j = ⌊j / (⌈H/r⌉)⌋
 *   O_i, lse_i   the output and logsumexp of configuration i
 *
 * Eq. (3)–(5): for configuration (w, r), the sequence is cut into segments of w; in each, the
 * rows at offsets s, s + r, s + 2r, ... are gathered (Q̃, K̃, Ṽ) and attend among themselves
 * (causal optional): Õ = softmax(scale · Q̃K̃ᵀ) Ṽ; rows not kept get nothing from this config.
 * Eq. (6)–(7): the k configurations are merged with weights from their softmax denominators:
 *   O = Σ_i α_i O_i,  α_i = exp(lse_i) / Σ_i' exp(lse_i')          (per row, per head)
 * over the configurations that cover the row — a weighted merge, NOT one softmax over the union
 * of their keys. Memory per head: Σ_i L·w_i / r_i² scores, never L×L.
 *
 * Segments: the last segment may be shorter than w (its keys are the real ones; torchscale instead
 * zero-pads L to a multiple of w and attends to the zero keys — identical when L is a multiple of
 * every w). A segment length ≥ L is one segment: (w ≥ L, r = 1) is dense attention.
 */
import {
  ConfigError,
  ShapeError,
  tf,
  z,
  type AttentionContext,
  type AttentionKernel,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';

/** Large negative logit for masked pairs (finite, so fully masked rows stay NaN-free). */
const MASKED = -1e9;
/** logsumexp of a row a configuration does not cover: its merge weight is exp(-1e30 - ...) = 0. */
const UNCOVERED = -1e30;

const posInts = (field: string, example: string) =>
  z
    .array(
      z
        .number({ message: `every ${field} entry must be a whole number ≥ 1, e.g. ${example}` })
        .int({ message: `every ${field} entry must be a whole number ≥ 1, e.g. ${example}` })
        .positive({ message: `every ${field} entry must be ≥ 1, e.g. ${example}` }),
    )
    .nonempty({ message: `${field} needs at least one entry, e.g. ${example}` });

/** Options: the paper's hyper-parameters (§4.1: w = 2048 .. 32768, r = 1, 2, 4, 6, 12). */
export const LongnetOptions = z.object({
  /** Segment lengths w_i (one per configuration). */
  segmentLengths: posInts('segmentLengths', '[2048, 4096, 8192, 16384, 32768]').default([2048, 4096, 8192, 16384, 32768]),
  /** Dilated rates r_i (one per configuration, same order). */
  dilations: posInts('dilations', '[1, 2, 4, 6, 12]').default([1, 2, 4, 6, 12]),
});
export type LongnetOptions = z.output<typeof LongnetOptions>;

/** What this implementation really supports: the builder refuses combinations from these. */
export const longnetCapabilities: SlotCapabilities['attention'] = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: true,
  segments: true,
  decode: false,
  weights: false,
};

/** Config-time check: one dilation per segment length. */
export function checkLongnetOptions(options: LongnetOptions, path = 'attention'): void {
  if (options.segmentLengths.length !== options.dilations.length) {
    throw new ConfigError(
      `${path}.dilations`,
      `dilations lists ${options.dilations.length} value(s) [${options.dilations.join(', ')}] but segmentLengths lists ${options.segmentLengths.length} [${options.segmentLengths.join(', ')}]; give one dilation per segment length`,
    );
  }
}

/** Head offset s_h of head h for dilation r with H heads (torchscale: heads padded to a multiple of r, split into r groups). */
export function headOffset(h: number, H: number, r: number): number {
  return Math.floor(h / (Math.ceil(H / r)));
}

/**
 * The rows one (w, r, offset s) configuration keeps: per segment, the positions start + s + t·r
 * inside the segment, as [nSeg · m] indices with -1 for empty slots (m = ⌈w / r⌉).
 */
export function dilatedRows(L: number, w: number, r: number, s: number): { nSeg: number; m: number; idx: Int32Array } {
  const seg = Math.min(w, L);
  const nSeg = Math.ceil(L / seg);
  const m = Math.ceil(seg / r);
  const idx = new Int32Array(nSeg * m).fill(-1);
  for (let n = 0; n < nSeg; n++) {
    const end = Math.min((n + 1) * seg, L);
    for (let t = 0; t < m; t++) {
      const p = n * seg + s + t * r;
      if (p < end) idx[n * m + t] = p;
    }
  }
  return { nSeg, m, idx };
}

/** Repeat kv heads for grouped-query attention (HF repeat_kv: kv head g serves contiguous query heads). */
function repeatKv(x: Tensor, H: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === H) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, H / Hkv, 1, 1]), [B, H, L, D]); // [B, H, L, D]
}

/**
 * One configuration (w, r) for the heads `heads` (all with offset s): returns their output
 * [B, Hg, L, Dv] and logsumexp [B, Hg, L, 1] (UNCOVERED where the rows are not kept or fully masked).
 */
function dilatedConfig(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, w: number, r: number, s: number): [Tensor, Tensor] {
  return tf.tidy(() => {
    const [B, Hg, L, Dh] = q.shape as number[];
    const Dv = (v.shape as number[])[3];
    const { nSeg, m, idx } = dilatedRows(L, w, r, s);
    const gi = tf.tensor1d(idx.map((p) => (p < 0 ? 0 : p)), 'int32');
    const Qs = tf.reshape(tf.gather(q, gi, 2), [B * Hg * nSeg, m, Dh]); // [B·Hg·nSeg, m, Dh]
    const Ks = tf.reshape(tf.gather(k, gi, 2), [B * Hg * nSeg, m, Dh]); // [B·Hg·nSeg, m, Dh]
    const Vs = tf.reshape(tf.gather(v, gi, 2), [B * Hg * nSeg, m, Dv]); // [B·Hg·nSeg, m, Dv]
    // Transient score-sized tensors ([B, Hg, nSeg, m, m]) are freed as soon as the next exists.
    const mask = tf.tidy(() => {
      // Structural mask: both slots real, and (causal) key position ≤ query position.
      const structural = new Float32Array(nSeg * m * m);
      for (let n = 0; n < nSeg; n++) {
        for (let a = 0; a < m; a++) {
          for (let c = 0; c < m; c++) {
            const i = idx[n * m + a], j = idx[n * m + c];
            structural[(n * m + a) * m + c] = i >= 0 && j >= 0 && (!ctx.causal || j <= i + ctx.queryOffset) ? 0 : MASKED;
          }
        }
      }
      let mk: Tensor = tf.tensor(structural, [1, 1, nSeg, m, m]); // [1, 1, nSeg, m, m]
      if (!ctx.keyPaddingMask && !(ctx.querySegmentIds && ctx.keySegmentIds)) return mk;
      if (ctx.keyPaddingMask) {
        const keep = tf.reshape(tf.gather(tf.cast(ctx.keyPaddingMask, 'float32'), gi, 1), [B, 1, nSeg, 1, m]); // [B, 1, nSeg, 1, m]
        mk = tf.add(mk, tf.mul(tf.sub(1, keep), MASKED));
      }
      if (ctx.querySegmentIds && ctx.keySegmentIds) {
        const qs = tf.reshape(tf.gather(ctx.querySegmentIds, gi, 1), [B, 1, nSeg, m, 1]); // [B, 1, nSeg, m, 1]
        const ks = tf.reshape(tf.gather(ctx.keySegmentIds, gi, 1), [B, 1, nSeg, 1, m]); // [B, 1, nSeg, 1, m]
        mk = tf.add(mk, tf.mul(tf.sub(1, tf.cast(tf.equal(qs, ks), 'float32')), MASKED));
      }
      return tf.maximum(mk, MASKED);
    }); // [B|1, 1, nSeg, m, m]
    const covered = tf.tidy(() => tf.cast(tf.greater(tf.max(mask, -1, true), MASKED / 2), 'float32')); // [B|1, 1, nSeg, m, 1]
    const logits = tf.tidy(() => {
      const raw = tf.reshape(tf.matMul(Qs, Ks, false, true), [B, Hg, nSeg, m, m]); // [B, Hg, nSeg, m, m]
      const scaled = typeof ctx.scale === 'number' ? tf.mul(raw, ctx.scale) : tf.mul(raw, tf.reshape(ctx.scale, [1, -1, 1, 1, 1]));
      raw.dispose();
      return tf.add(scaled, mask);
    });
    mask.dispose();
    const lse = tf.logSumExp(logits, -1, true); // [B, Hg, nSeg, m, 1] — eq. (6)'s softmax denominator
    const o = tf.tidy(() => {
      const p = tf.exp(tf.sub(logits, lse)); // softmax over the kept keys
      return tf.mul(tf.reshape(tf.matMul(tf.reshape(p, [B * Hg * nSeg, m, m]), Vs), [B, Hg, nSeg, m, Dv]), covered); // [B, Hg, nSeg, m, Dv]
    });
    logits.dispose();
    const lseMasked = tf.add(tf.mul(lse, covered), tf.mul(tf.sub(1, covered), UNCOVERED)); // [B, Hg, nSeg, m, 1]
    // Scatter back to L rows: slot of each row, or the extra "uncovered" slot at the end.
    const where = new Int32Array(L).fill(nSeg * m);
    idx.forEach((row, slot) => {
      if (row >= 0) where[row] = slot;
    });
    const wi = tf.tensor1d(where, 'int32');
    const oAll = tf.concat([tf.reshape(o, [B, Hg, nSeg * m, Dv]), tf.zeros([B, Hg, 1, Dv])], 2); // [B, Hg, nSeg·m + 1, Dv]
    const lAll = tf.concat([tf.reshape(lseMasked, [B, Hg, nSeg * m, 1]), tf.fill([B, Hg, 1, 1], UNCOVERED)], 2); // [B, Hg, nSeg·m + 1, 1]
    return [tf.gather(oAll, wi, 2), tf.gather(lAll, wi, 2)]; // [B, Hg, L, Dv], [B, Hg, L, 1]
  });
}

export class LongnetAttention implements AttentionKernel {
  readonly supports = longnetCapabilities;

  constructor(readonly options: LongnetOptions) {
    checkLongnetOptions(options);
  }

  /**
   * Every configuration's output and logsumexp, [B, H, L, Dv] and [B, H, L, 1] each (lse =
   * -1e30 on rows the configuration does not cover). `attend` merges them (eq. 6–7).
   */
  configs(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Array<[Tensor, Tensor]> {
    const [, H, L] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    if (Lk !== L) throw new ShapeError(`longnet: query length ${L} ≠ key length ${Lk}; dilated attention is self-attention without decoding (capability decode: false)`);
    const Hkv = (k.shape as number[])[1];
    if (H % Hkv !== 0) throw new ShapeError(`longnet: ${H} query heads are not a multiple of ${Hkv} kv heads`);
    return tf.tidy(() => {
      const kk = repeatKv(k, H); // [B, H, L, Dh]
      const vv = repeatKv(v, H); // [B, H, L, Dv]
      return this.options.segmentLengths.map((w, c) => {
        const r = this.options.dilations[c];
        // Heads with the same offset run together; concatenate, then restore head order.
        const offsets = Array.from({ length: H }, (_, h) => headOffset(h, H, r));
        const outs: Tensor[] = [];
        const lses: Tensor[] = [];
        const order: number[] = [];
        for (const s of [...new Set(offsets)]) {
          const heads = offsets.flatMap((x, h) => (x === s ? [h] : []));
          const hi = tf.tensor1d(heads, 'int32');
          const sc = typeof ctx.scale === 'number' ? ctx.scale : tf.gather(ctx.scale, hi);
          const [o, l] = dilatedConfig(tf.gather(q, hi, 1), tf.gather(kk, hi, 1), tf.gather(vv, hi, 1), { ...ctx, scale: sc }, w, r, s);
          outs.push(o);
          lses.push(l);
          order.push(...heads);
        }
        const inverse = new Int32Array(H);
        order.forEach((h, i) => (inverse[h] = i));
        const inv = tf.tensor1d(inverse, 'int32');
        return [tf.gather(tf.concat(outs, 1), inv, 1), tf.gather(tf.concat(lses, 1), inv, 1)] as [Tensor, Tensor]; // [B, H, L, Dv], [B, H, L, 1]
      });
    });
  }

  /** q [B, H, L, Dh], k [B, Hkv, L, Dh], v [B, Hkv, L, Dv] -> [B, H, L, Dv]. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      const parts = this.configs(q, k, v, ctx);
      if (parts.length === 1) return parts[0][0];
      // Eq. (6)–(7): α_i = softmax_i(lse_i) per row; uncovered rows have weight 0.
      const alpha = tf.softmax(tf.stack(parts.map(([, l]) => l), -1)); // [B, H, L, 1, k]
      const O = tf.stack(parts.map(([o]) => o), -1); // [B, H, L, Dv, k]
      return tf.sum(tf.mul(O, alpha), -1); // [B, H, L, Dv]
    });
  }
}
