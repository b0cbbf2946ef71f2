/**
 * What one `attend` call computes, checked and laid out once for both implementations
 * (tiled tfjs and fused WASM): the sizes, the scale, the tile grid, and the masks read to
 * the host so that each tile can be classified (skipped / unmasked / partly masked) and its
 * additive mask built without an L×L tensor.
 *
 * Notation: B batch, H query heads, Hkv key/value heads (GQA: query head h reads kv head
 * floor(h / (H / Hkv))), Lq / Lk query / key lengths, Dh q·k width, Dv value width,
 * B_r = blockQ, B_c = blockK, nQB = ceil(Lq / B_r), nKB = ceil(Lk / B_c).
 */
import { ShapeError, tf, type AttentionContext, type LogitBias, type Tensor } from '@weft/core';
import { blockTable, type FlashOptions } from './options.js';

export interface FlashPlan {
  B: number;
  H: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  Dh: number;
  Dv: number;
  blockQ: number;
  blockK: number;
  nQB: number;
  nKB: number;
  causal: boolean;
  /** Query i may see key j iff j <= i + queryOffset (when causal). */
  queryOffset: number;
  /** A number, or a per-head [H] tensor (then it is an input of the gradient). */
  scale: number | Tensor;
  logitBias?: LogitBias;
  /** [B, Lk] additive: 0 keep, -inf padding. */
  keyBias?: Float32Array;
  /** [B, Lq] and [B, Lk]. */
  qSeg?: Int32Array;
  kSeg?: Int32Array;
  /** Block-sparse table M̃ [nQB, nKB] (1 = compute), or undefined for all tiles. */
  table?: Uint8Array;
}

/** A tile's mask: skip it, no mask, or an additive mask [Bm, 1, rows, cols] (Bm = 1 or B). */
export type TileMask = { kind: 'skip' } | { kind: 'none' } | { kind: 'partial'; data: Float32Array; batch: number };

function shapeError(field: string, value: readonly number[] | string, expected: string): never {
  const shown = typeof value === 'string' ? value : `[${value.join(', ')}]`;
  throw new ShapeError(`flash attention: ${field} has shape ${shown}, expected ${expected}.`);
}

export function makePlan(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, options: FlashOptions): FlashPlan {
  if (q.rank !== 4) shapeError('q', q.shape, '[B, H, Lq, Dh] (rank 4); reshape your heads first');
  if (k.rank !== 4) shapeError('k', k.shape, '[B, Hkv, Lk, Dh] (rank 4)');
  if (v.rank !== 4) shapeError('v', v.shape, '[B, Hkv, Lk, Dv] (rank 4)');
  const [B, H, Lq, Dh] = q.shape;
  const [Bk, Hkv, Lk, Dk] = k.shape;
  const [Bv, Hv, Lv, Dv] = v.shape;
  if (Bk !== B || Dk !== Dh) shapeError('k', k.shape, `[${B}, Hkv, Lk, ${Dh}] (batch and head width of q)`);
  if (Bv !== B || Hv !== Hkv || Lv !== Lk) shapeError('v', v.shape, `[${B}, ${Hkv}, ${Lk}, Dv] (batch, heads and length of k)`);
  if (H % Hkv !== 0) {
    shapeError('k', k.shape, `a number of kv heads dividing the ${H} query heads (GQA groups: query head h reads kv head floor(h / (H / Hkv)))`);
  }
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.dtype !== 'float32') throw new ShapeError(`flash attention: ${name} has dtype ${t.dtype}; cast it to float32.`);
  }

  let scale: number | Tensor = ctx.scale ?? 1 / Math.sqrt(Dh);
  if (typeof scale !== 'number') {
    if (scale.rank === 0) scale = scale.dataSync()[0];
    else if (scale.rank !== 1 || scale.shape[0] !== H) shapeError('ctx.scale', scale.shape, `a number or a per-head tensor [${H}]`);
  }

  const queryOffset = ctx.queryOffset ?? Lk - Lq;
  const nQB = Math.ceil(Lq / options.blockQ);
  const nKB = Math.ceil(Lk / options.blockK);
  const plan: FlashPlan = {
    B, H, Hkv, Lq, Lk, Dh, Dv,
    blockQ: options.blockQ,
    blockK: options.blockK,
    nQB,
    nKB,
    causal: ctx.causal,
    queryOffset,
    scale,
    logitBias: ctx.logitBias,
    table: blockTable(options.blockMask, nQB, nKB),
  };

  if (ctx.keyPaddingMask) {
    const m = ctx.keyPaddingMask;
    if (m.shape.length !== 2 || m.shape[0] !== B || m.shape[1] !== Lk) shapeError('ctx.keyPaddingMask', m.shape, `[${B}, ${Lk}] (1 keep, 0 padding)`);
    const keep = m.dataSync();
    plan.keyBias = Float32Array.from(keep, (x) => (x > 0 ? 0 : -Infinity));
  }
  let qs = ctx.querySegmentIds;
  let ks = ctx.keySegmentIds;
  if ((qs == null) !== (ks == null)) {
    // One set of ids for self-attention (Lq == Lk) serves both sides.
    if (Lq !== Lk) {
      throw new ShapeError(
        `flash attention: got ${qs ? 'querySegmentIds' : 'keySegmentIds'} only, but Lq (${Lq}) != Lk (${Lk}); pass both querySegmentIds [B, Lq] and keySegmentIds [B, Lk].`,
      );
    }
    qs = qs ?? ks;
    ks = ks ?? qs;
  }
  if (qs && ks) {
    if (qs.shape.length !== 2 || qs.shape[0] !== B || qs.shape[1] !== Lq) shapeError('ctx.querySegmentIds', qs.shape, `[${B}, ${Lq}] int32`);
    if (ks.shape.length !== 2 || ks.shape[0] !== B || ks.shape[1] !== Lk) shapeError('ctx.keySegmentIds', ks.shape, `[${B}, ${Lk}] int32`);
    plan.qSeg = Int32Array.from(qs.dataSync());
    plan.kSeg = Int32Array.from(ks.dataSync());
  }
  return plan;
}

/** Rows [qa, qe) of query tile i and columns [ka, ke) of key tile j. */
export function tileRange(plan: FlashPlan, i: number, j: number) {
  return {
    qa: i * plan.blockQ,
    qe: Math.min((i + 1) * plan.blockQ, plan.Lq),
    ka: j * plan.blockK,
    ke: Math.min((j + 1) * plan.blockK, plan.Lk),
  };
}

/**
 * Classify tile (i, j) and build its additive mask (causal, padding, segments, block table).
 * Tiles right of the causal diagonal, outside M̃, or fully padded are skipped.
 */
export function tileMask(plan: FlashPlan, i: number, j: number): TileMask {
  if (plan.table && plan.table[i * plan.nKB + j] === 0) return { kind: 'skip' };
  const { qa, qe, ka, ke } = tileRange(plan, i, j);
  const off = plan.queryOffset;
  if (plan.causal && ka > qe - 1 + off) return { kind: 'skip' };
  const causalPart = plan.causal && ke - 1 > qa + off;
  if (!causalPart && !plan.keyBias && !plan.qSeg) return { kind: 'none' };
  const rows = qe - qa;
  const cols = ke - ka;
  const batch = plan.keyBias || plan.qSeg ? plan.B : 1;
  const data = new Float32Array(batch * rows * cols);
  let visible = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      const i0 = qa + r;
      const qid = plan.qSeg ? plan.qSeg[b * plan.Lq + i0] : 0;
      for (let c = 0; c < cols; c++) {
        const jj = ka + c;
        let ok = !plan.causal || jj <= i0 + off;
        if (ok && plan.keyBias) ok = plan.keyBias[b * plan.Lk + jj] === 0;
        if (ok && plan.kSeg) ok = plan.kSeg[b * plan.Lk + jj] === qid;
        if (ok) visible++;
        else data[(b * rows + r) * cols + c] = -Infinity;
      }
    }
  }
  if (visible === 0) return { kind: 'skip' };
  if (visible === data.length) return { kind: 'none' };
  return { kind: 'partial', data, batch };
}

/** The per-head scale as a host array [H] (for the fused kernel). */
export function scaleArray(plan: FlashPlan): Float32Array {
  return typeof plan.scale === 'number' ? new Float32Array(plan.H).fill(plan.scale) : Float32Array.from(plan.scale.dataSync());
}

/** A tile's mask as a tensor [Bm, 1, rows, cols], or null. */
export function tileMaskTensor(mask: TileMask, rows: number, cols: number): Tensor | null {
  return mask.kind === 'partial' ? tf.tensor4d(mask.data, [mask.batch, 1, rows, cols]) : null;
}
