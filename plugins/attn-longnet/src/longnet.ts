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
 * of their keys. Work per head: Σ_i L·w_i / r_i² scores (half of it causal), never an L×L tensor.
 *
 * Implementation: per configuration and head offset, the kept rows are laid out in "slot space"
 * (pads, reshapes and a strided slice; no gather) and run through @weft/nn's block-sparse engine,
 * which returns each row's lse too; while a gradient is recorded, the backward recomputes one
 * (configuration, offset) at a time, so memory stays that of one block of scores.
 *
 * Segments: the last segment may be shorter than w (its keys are the real ones; torchscale instead
 * zero-pads L to a multiple of w and attends to the zero keys — identical when L is a multiple of
 * every w). A segment length ≥ L is one segment: (w ≥ L, r = 1) is dense attention.
 */
import {
  ConfigError,
  ShapeError,
  tf,
  withOwnTape,
  z,
  type AttentionContext,
  type AttentionKernel,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { blockSparseAttentionWithLse, emptyPlan, type BlockPlan } from '@weft/nn';

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
 * The heads of one configuration with offset s (a contiguous range [h0, h1)), the position of
 * each of their nSeg·m slots (-1: past the segment or the sequence) and the block-sparse plans
 * over those slots.
 */
interface OffsetGroup {
  s: number;
  h0: number;
  h1: number;
  slots: Int32Array;
  plans: BlockPlan[];
}

/** One configuration (w, r): segments of seg = min(w, L) rows, m = ⌈seg / r⌉ slots per segment and head group. */
interface ConfigLayout {
  r: number;
  seg: number;
  nSeg: number;
  m: number;
  groups: OffsetGroup[];
}

/**
 * Plans in slot space (slot n·m + t is position n·seg + s + t·r): each segment's m slots cut
 * into query blocks of bq; a block sees its segment's slots, causal ones only up to its last
 * slot (so blocks with the same index share a plan and the causal half is skipped).
 */
function slotPlans(slots: Int32Array, nSeg: number, m: number, causal: boolean, offset: number): BlockPlan[] {
  const bq = Math.min(m, 128);
  const nb = Math.ceil(m / bq);
  const trim = causal && offset <= 0; // keys past the block's last slot are all in the future
  const byWidth = Array.from({ length: trim ? nb : 1 }, (_, b) => (trim ? [b] : Array.from({ length: nb }, (_, x) => x)));
  return byWidth.map((bs) => {
    const K = trim ? Math.min(m, (bs[0] + 1) * bq) : m;
    const plan = emptyPlan(nSeg * bs.length, bq, K);
    let blk = 0;
    for (let n = 0; n < nSeg; n++) {
      for (const b of bs) {
        for (let c = 0; c < K; c++) plan.kIdx[blk * K + c] = n * m + c;
        for (let a = 0; a < bq && b * bq + a < m; a++) {
          const qs = n * m + b * bq + a;
          plan.qIdx[blk * bq + a] = qs;
          const i = slots[qs];
          if (i < 0) continue;
          for (let c = 0; c < K; c++) {
            const j = slots[n * m + c];
            if (j >= 0 && (!causal || j <= i + offset)) plan.allowed[(blk * bq + a) * K + c] = 1;
          }
        }
        blk++;
      }
    }
    return plan;
  });
}

function configLayout(L: number, H: number, w: number, r: number, causal: boolean, offset: number): ConfigLayout {
  const seg = Math.min(w, L);
  const nSeg = Math.ceil(L / seg);
  const m = Math.ceil(seg / r);
  const groups: OffsetGroup[] = [];
  for (let h = 0; h < H; h++) {
    const s = headOffset(h, H, r);
    if (groups.length && groups[groups.length - 1].s === s) groups[groups.length - 1].h1 = h + 1;
    else groups.push({ s, h0: h, h1: h + 1, slots: dilatedRows(L, w, r, s).idx, plans: [] });
  }
  for (const g of groups) g.plans = slotPlans(g.slots, nSeg, m, causal, offset);
  return { r, seg, nSeg, m, groups };
}

/**
 * Rows to slots for heads of offset s: x [B, Hg, L, D] -> [B, Hg, nSeg·m, D], slot n·m + t
 * holding row n·seg + s + t·r (zero past a segment or the sequence). Pads, reshapes and one
 * strided slice: tfjs's wasm GatherV2 copies one element at a time, and the slice's gradient
 * (a pad) is no larger than x.
 */
function toSlots(x: Tensor, c: ConfigLayout, s: number): Tensor {
  const [B, Hg, L, D] = x.shape as number[];
  const { seg, nSeg, m, r } = c;
  let y = nSeg * seg > L ? tf.pad(x, [[0, 0], [0, 0], [0, nSeg * seg - L], [0, 0]]) : x; // [B, Hg, nSeg·seg, D]
  if (m * r > seg) y = tf.pad(tf.reshape(y, [B * Hg * nSeg, seg, D]), [[0, 0], [0, m * r - seg], [0, 0]]); // [B·Hg·nSeg, m·r, D]
  if (r > 1) y = tf.slice(tf.reshape(y, [B * Hg * nSeg * m, r, D]), [0, s, 0], [-1, 1, -1]); // [B·Hg·nSeg·m, 1, D]
  return tf.reshape(y, [B, Hg, nSeg * m, D]); // [B, Hg, nSeg·m, D]
}

/** Slots back to rows for heads of offset s: y [B, Hg, nSeg·m, C] -> [B, Hg, L, C], `fill` elsewhere. */
function fromSlots(y: Tensor, c: ConfigLayout, s: number, L: number, fill: number): Tensor {
  const [B, Hg, , C] = y.shape as number[];
  const { seg, nSeg, m, r } = c;
  let z = r === 1 ? y : tf.pad(tf.reshape(y, [B * Hg * nSeg * m, 1, C]), [[0, 0], [s, r - 1 - s], [0, 0]], fill); // [B·Hg·nSeg·m, r, C]
  z = tf.reshape(z, [B * Hg * nSeg, m * r * C]); // [B·Hg·nSeg, m·r·C]
  if (m * r > seg) z = tf.slice(z, [0, 0], [-1, seg * C]); // [B·Hg·nSeg, seg·C]
  z = tf.reshape(z, [B * Hg, nSeg * seg * C]); // [B·Hg, nSeg·seg·C]
  if (nSeg * seg > L) z = tf.slice(z, [0, 0], [-1, L * C]); // [B·Hg, L·C]
  return tf.reshape(z, [B, Hg, L, C]); // [B, Hg, L, C]
}

/** Heads h0 .. h1-1 of x [B, H, L, D], sliced as whole [L·D] rows: [B, h1 − h0, L, D]. */
function headRange(x: Tensor, h0: number, h1: number): Tensor {
  const [B, H, L, D] = x.shape as number[];
  return tf.reshape(tf.slice(tf.reshape(x, [B, H, L * D]), [0, h0, 0], [B, h1 - h0, L * D]), [B, h1 - h0, L, D]); // [B, Hg, L, D]
}

/** A [B, L] mask or id tensor in slot space, [B, nSeg·m] (slots past the sequence read row 0; the plan masks them). */
function slotColumns(t: Tensor | undefined, slots: Int32Array): Tensor | undefined {
  return t && tf.gather(t, tf.tensor1d(slots.map((p) => (p < 0 ? 0 : p)), 'int32'), 1); // [B, nSeg·m]
}

/**
 * Eq. (3)–(5) for the heads of one offset group (k, v already repeated to H heads): the kept
 * rows (Q̃, K̃, Ṽ) laid out in slot space attend block-sparsely within their segment
 * (@weft/nn blockSparseAttentionWithLse). Returns [B, Hg, L, Dv] and lse [B, Hg, L, 1].
 */
function groupOutput(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, c: ConfigLayout, g: OffsetGroup): [Tensor, Tensor] {
  return tf.tidy(() => {
    const [, H, L] = q.shape as number[];
    const Hg = g.h1 - g.h0;
    const pick = (x: Tensor) => toSlots(Hg === H ? x : headRange(x, g.h0, g.h1), c, g.s); // [B, Hg, nSeg·m, D]
    const gctx: AttentionContext = {
      ...ctx,
      scale: typeof ctx.scale === 'number' ? ctx.scale : tf.slice(ctx.scale, [g.h0], [Hg]),
      logitBias: undefined,
      keyPaddingMask: slotColumns(ctx.keyPaddingMask, g.slots),
      querySegmentIds: slotColumns(ctx.querySegmentIds, g.slots),
      keySegmentIds: slotColumns(ctx.keySegmentIds, g.slots),
    };
    const heads = Array.from({ length: Hg }, (_, h) => h);
    const [os, ls] = blockSparseAttentionWithLse(pick(q), pick(k), pick(v), gctx, [{ heads, plans: g.plans }]); // [B, Hg, nSeg·m, Dv], [.., 1]
    return [fromSlots(os, c, g.s, L, 0), fromSlots(ls, c, g.s, L, UNCOVERED)]; // [B, Hg, L, Dv], [B, Hg, L, 1]
  });
}

export class LongnetAttention implements AttentionKernel {
  readonly supports = longnetCapabilities;

  constructor(readonly options: LongnetOptions) {
    checkLongnetOptions(options);
  }

  private cached?: { key: string; layouts: ConfigLayout[] };

  /** Every configuration's slot layout and plans, kept while (L, H, causal, offset) repeat. */
  private layouts(L: number, H: number, causal: boolean, offset: number): ConfigLayout[] {
    const key = `${L},${H},${causal},${offset}`;
    if (this.cached?.key !== key) {
      const { segmentLengths, dilations } = this.options;
      this.cached = { key, layouts: segmentLengths.map((w, i) => configLayout(L, H, w, dilations[i], causal, offset)) };
    }
    return this.cached.layouts;
  }

  /**
   * Every configuration's output and logsumexp, [B, H, L, Dv] and [B, H, L, 1] each (lse =
   * -1e30 on rows the configuration does not cover). `attend` merges them (eq. 6–7).
   * Eq. (3)–(5) per configuration and head offset: the kept rows (Q̃, K̃, Ṽ) are laid out in
   * slot space and attend block-sparsely within their segment (@weft/nn blockSparseAttentionWithLse).
   */
  configs(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Array<[Tensor, Tensor]> {
    const [, H, L] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    if (Lk !== L) throw new ShapeError(`longnet: query length ${L} ≠ key length ${Lk}; dilated attention is self-attention without decoding (capability decode: false)`);
    const Hkv = (k.shape as number[])[1];
    if (H % Hkv !== 0) throw new ShapeError(`longnet: ${H} query heads are not a multiple of ${Hkv} kv heads`);
    return this.layouts(L, H, ctx.causal, ctx.queryOffset).map((_, i) => this.config(q, k, v, ctx, i));
  }

  /** Configuration i's output [B, H, L, Dv] and logsumexp [B, H, L, 1] (see `configs`). */
  private config(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, i: number): [Tensor, Tensor] {
    const [, H, L] = q.shape as number[];
    const c = this.layouts(L, H, ctx.causal, ctx.queryOffset)[i];
    return tf.tidy(() => {
      const kk = repeatKv(k, H); // [B, H, L, Dh]
      const vv = repeatKv(v, H); // [B, H, L, Dv]
      const outs: Tensor[] = [];
      const lses: Tensor[] = [];
      for (const g of c.groups) {
        const [o, l] = groupOutput(q, kk, vv, ctx, c, g);
        outs.push(o);
        lses.push(l);
      }
      return [tf.concat(outs, 1), tf.concat(lses, 1)] as [Tensor, Tensor]; // [B, H, L, Dv], [B, H, L, 1]
    });
  }

  /**
   * q [B, H, L, Dh], k [B, Hkv, L, Dh], v [B, Hkv, L, Dv] -> [B, H, L, Dv]. While a gradient is
   * recorded, the whole kernel is one custom-gradient op that keeps only its inputs and the
   * configurations' (O_i, lse_i), and whose backward recomputes one configuration at a time on
   * its own tape: tfjs otherwise holds every intermediate gradient of every configuration
   * until the backward ends.
   */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    // A per-head scale tensor may be trained: it then takes tfjs's own gradient (all intermediates kept).
    if (!tf.engine().isTapeOn() || typeof ctx.scale !== 'number' || this.options.segmentLengths.length === 1) return tf.tidy(() => merge(this.configs(q, k, v, ctx)));
    const ctxTensors = [ctx.keyPaddingMask, ctx.querySegmentIds, ctx.keySegmentIds];
    const op = tf.customGrad((...args: (Tensor | ((saved: Tensor[]) => void))[]) => {
      const [qq, kk, vv] = args as Tensor[];
      const save = args[args.length - 1] as (saved: Tensor[]) => void;
      const parts = this.configs(qq, kk, vv, ctx);
      save([qq, kk, vv, ...parts.flat(), ...ctxTensors.filter((t): t is Tensor => !!t)]);
      const value = merge(parts);
      const gradFunc = (dy: Tensor, saved: Tensor[]) => {
        const [sq, sk, sv] = saved;
        const n = parts.length;
        const sparts = Array.from({ length: n }, (_, i) => [saved[3 + 2 * i], saved[4 + 2 * i]] as [Tensor, Tensor]);
        const rest = saved.slice(3 + 2 * n);
        const [pad, qSeg, kSeg] = ctxTensors.map((t) => (t ? rest.shift() : undefined));
        const c: AttentionContext = { ...ctx, keyPaddingMask: pad, querySegmentIds: qSeg, keySegmentIds: kSeg };
        // Cotangents of every (O_i, lse_i) from the merge, then each configuration's pull-back.
        const cot = withOwnTape(() => {
          const xs = sparts.flat();
          const { value: y, grads } = tf.engine().gradients(() => tf.sum(tf.mul(merge(pairs(xs)), dy)), xs, undefined, true);
          y.dispose();
          return grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
        });
        let grads = [tf.zerosLike(sq), tf.zerosLike(sk), tf.zerosLike(sv)];
        const [, H, L] = sq.shape as number[];
        this.layouts(L, H, ctx.causal, ctx.queryOffset).forEach((layout, i) => {
          for (const grp of layout.groups) {
            const full = grp.h1 - grp.h0 === H;
            const g = tf.tidy(() => {
              const [co, cl] = [cot[2 * i], cot[2 * i + 1]].map((t) => (full ? t : headRange(t, grp.h0, grp.h1))); // [B, Hg, L, ·]
              return withOwnTape(() => {
                const f = () => {
                  const [o, l] = groupOutput(sq, repeatKv(sk, H), repeatKv(sv, H), c, layout, grp);
                  return tf.add(tf.sum(tf.mul(o, co)), tf.sum(tf.mul(l, cl)));
                };
                const { value: y, grads: gs } = tf.engine().gradients(f, [sq, sk, sv], undefined, true);
                y.dispose();
                return gs.map((x, j) => x ?? tf.zerosLike([sq, sk, sv][j]));
              });
            });
            const next = grads.map((acc, j) => tf.add(acc, g[j]));
            tf.dispose([...grads, ...g]);
            grads = next;
          }
        });
        tf.dispose(cot);
        return grads;
      };
      return { value, gradFunc };
    });
    return op(q, k, v);
  }
}

/** Pairs [o_1, l_1, o_2, l_2, ...] back into [[o_1, l_1], ...]. */
function pairs(xs: Tensor[]): Array<[Tensor, Tensor]> {
  return Array.from({ length: xs.length / 2 }, (_, i) => [xs[2 * i], xs[2 * i + 1]] as [Tensor, Tensor]);
}

/** Eq. (6)–(7): O = Σ_i α_i O_i, α_i = exp(lse_i − max) / Σ_i' exp(lse_i' − max) per row; uncovered rows have weight 0. */
function merge(parts: Array<[Tensor, Tensor]>): Tensor {
  return tf.tidy(() => {
    if (parts.length === 1) return parts[0][0];
    const mx = parts.slice(1).reduce((a, [, l]) => tf.maximum(a, l), parts[0][1]); // [B, H, L, 1]
    const alphas = parts.map(([, l]) => tf.exp(tf.sub(l, mx))); // [B, H, L, 1] each
    const num = parts.map(([o], i) => tf.mul(o, alphas[i])).reduce((a, b) => tf.add(a, b)); // [B, H, L, Dv]
    return tf.div(num, alphas.reduce((a, b) => tf.add(a, b))); // [B, H, L, Dv]
  });
}

