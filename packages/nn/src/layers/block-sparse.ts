/**
 * Block-sparse softmax attention: the engine that runs a sparse pattern without an L×L tensor.
 *
 * A pattern is described, per group of heads, by one or more *plans*. A plan cuts the query
 * rows it covers into nB blocks of bq slots and gives every block its own K key slots (the
 * keys the pattern can let any row of the block see) and a structural mask saying which
 * (query slot, key slot) pairs the pattern allows. The engine gathers the blocks, computes
 * softmax(scale · q kᵀ + bias) over the K slots only, and scatters the rows back:
 *
 *   Q_b = q[qIdx_b]              [B, Hg, nB, bq, Dh]
 *   K_b = k[kIdx_b], V_b = v[..] [B, Hg, nB, K, Dh]
 *   O_b = softmax(scale Q_b K_bᵀ + bias_b + mask_b) V_b     [B, Hg, nB, bq, Dv]
 *
 * Memory is O(L·K) per head instead of O(L²), and blocks run in chunks of at most
 * SCORE_BUDGET scores, so the transient softmax tensors are bounded whatever the pattern. The pattern builder is responsible for listing
 * each allowed (query, key) pair exactly once per row (no duplicated key slots), so the result
 * equals dense attention under the same mask. Every query row must appear in exactly one plan
 * of its group. On top of the structural mask the engine applies, per batch row, key padding
 * and segment ids from the AttentionContext. Fully masked rows output 0 (like dense).
 *
 * Notation: B batch, H query heads, Hkv kv heads, Lq / Lk query / key length, Dh head width,
 * nB blocks, bq query slots per block, K key slots per block, Hg heads in a group.
 */
import { ShapeError, tf, type AttentionContext, type Tensor } from '@weft/core';

/** Large negative logit for masked pairs (finite, so a fully masked row does not give NaN). */
const MASKED = -1e9;

export interface BlockPlan {
  nBlocks: number;
  /** Query slots per block. */
  bq: number;
  /** Key slots per block. */
  K: number;
  /** [nBlocks·bq] query row of each slot; -1 = empty slot. */
  qIdx: Int32Array;
  /** [nBlocks·K] key index of each slot; -1 = empty slot. */
  kIdx: Int32Array;
  /** [nBlocks·bq·K] 1 where the pattern allows the pair (0 for empty slots). */
  allowed: Uint8Array;
}

export interface HeadGroup {
  /** Query heads using these plans (ascending). */
  heads: number[];
  plans: BlockPlan[];
}

/** Helper for pattern builders: an empty plan of the given size. */
export function emptyPlan(nBlocks: number, bq: number, K: number): BlockPlan {
  return {
    nBlocks,
    bq,
    K,
    qIdx: new Int32Array(nBlocks * bq).fill(-1),
    kIdx: new Int32Array(nBlocks * K).fill(-1),
    allowed: new Uint8Array(nBlocks * bq * K),
  };
}

/** Grouped-query attention: kv head g serves query heads g·H/Hkv .. (g+1)·H/Hkv - 1 (HF repeat_kv). */
function repeatKv(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  if (heads % Hkv !== 0) throw new ShapeError(`block-sparse attention: ${heads} query heads are not a multiple of ${Hkv} kv heads`);
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]);
}

const clampIdx = (idx: Int32Array): Int32Array => idx.map((i) => (i < 0 ? 0 : i));

function pickHeads(x: Tensor, heads: number[], H: number): Tensor {
  if (heads.length === H && heads.every((h, i) => h === i)) return x;
  return tf.gather(x, tf.tensor1d(heads, 'int32'), 1);
}

/**
 * The logit bias of one plan, asked tile by tile from ctx.logitBias: per block, the query rows'
 * covering range times each run of key slots whose indices rise by at most `maxGap`; the rows
 * and columns the block needs are gathered out. Returns [B or 1, Hg or 1, nB, bq, K].
 */
function planBias(plan: BlockPlan, ctx: AttentionContext, heads: number[], H: number, B: number, maxGap: number): Tensor {
  const bias = ctx.logitBias!;
  const { nBlocks, bq, K } = plan;
  const tiles: Tensor[] = [];
  for (let n = 0; n < nBlocks; n++) {
    const rows = Array.from(plan.qIdx.subarray(n * bq, (n + 1) * bq));
    const valid = rows.filter((r) => r >= 0);
    if (!valid.length) {
      tiles.push(tf.zeros([1, 1, bq, K]));
      continue;
    }
    const qStart = Math.min(...valid);
    const qEnd = Math.max(...valid) + 1;
    const rowIdx = tf.tensor1d(rows.map((r) => (r < 0 ? 0 : r - qStart)), 'int32');
    const cols = Array.from(plan.kIdx.subarray(n * K, (n + 1) * K));
    const parts: Tensor[] = [];
    let s = 0;
    while (s < K) {
      if (cols[s] < 0) {
        let e = s;
        while (e < K && cols[e] < 0) e++;
        parts.push(tf.zeros([1, 1, bq, e - s]));
        s = e;
        continue;
      }
      let e = s + 1;
      while (e < K && cols[e] >= 0 && cols[e] - cols[e - 1] >= 1 && cols[e] - cols[e - 1] <= maxGap) e++;
      const kStart = cols[s];
      const kEnd = cols[e - 1] + 1;
      let t = bias({ start: qStart, end: qEnd }, { start: kStart, end: kEnd }); // [B|1, H|1, qSpan, kSpan]
      t = tf.gather(t, rowIdx, 2); // [B|1, H|1, bq, kSpan]
      t = tf.gather(t, tf.tensor1d(cols.slice(s, e).map((c) => c - kStart), 'int32'), 3); // [B|1, H|1, bq, run]
      parts.push(t);
      s = e;
    }
    // Broadcast the parts to one batch/head extent before concatenating along the key axis.
    const bDim = Math.max(...parts.map((p) => (p.shape as number[])[0]));
    const hDim = Math.max(...parts.map((p) => (p.shape as number[])[1]));
    let tile = tf.concat(parts.map((p) => tf.broadcastTo(p, [bDim, hDim, bq, (p.shape as number[])[3]])), 3); // [b, h, bq, K]
    if (hDim === H && H > 1) tile = pickHeads(tile, heads, H);
    tiles.push(tile);
  }
  const bDim = Math.max(...tiles.map((t) => (t.shape as number[])[0]));
  const hDim = Math.max(...tiles.map((t) => (t.shape as number[])[1]));
  if (bDim !== 1 && bDim !== B) throw new ShapeError(`block-sparse attention: logit bias batch ${bDim} does not match batch ${B}`);
  return tf.stack(tiles.map((t) => tf.broadcastTo(t, [bDim, hDim, bq, K])), 2); // [b, h, nB, bq, K]
}

/**
 * The additive mask of one plan: 0 where allowed, MASKED elsewhere, [B or 1, 1, nB, bq, K]:
 * the pattern's structural mask, then key padding and segment ids per batch row.
 */
function planMask(plan: BlockPlan, ctx: AttentionContext, qi: Tensor, ki: Tensor): Tensor {
  const { nBlocks: nB, bq, K } = plan;
  const structural = new Float32Array(plan.allowed.length);
  plan.allowed.forEach((a, t) => (structural[t] = a ? 0 : MASKED));
  let mask = tf.tensor(structural, [1, 1, nB, bq, K], 'float32'); // [1, 1, nB, bq, K]
  if (!ctx.keyPaddingMask && !(ctx.querySegmentIds && ctx.keySegmentIds)) return mask;
  return tf.tidy(() => {
    if (ctx.keyPaddingMask) {
      const keep = tf.reshape(tf.gather(tf.cast(ctx.keyPaddingMask, 'float32'), ki, 1), [-1, 1, nB, 1, K]); // [B, 1, nB, 1, K]
      mask = tf.add(mask, tf.mul(tf.sub(1, keep), MASKED));
    }
    if (ctx.querySegmentIds && ctx.keySegmentIds) {
      const qs = tf.reshape(tf.gather(ctx.querySegmentIds, qi, 1), [-1, 1, nB, bq, 1]); // [B, 1, nB, bq, 1]
      const ks = tf.reshape(tf.gather(ctx.keySegmentIds, ki, 1), [-1, 1, nB, 1, K]); // [B, 1, nB, 1, K]
      mask = tf.add(mask, tf.mul(tf.sub(1, tf.cast(tf.equal(qs, ks), 'float32')), MASKED));
    }
    return tf.maximum(mask, MASKED); // clamp, so a doubly masked pair is still just MASKED
  });
}

/**
 * One plan for one head group: returns [B, Hg, nB·bq, Dv]. The score-sized tensors
 * ([B, Hg, nB, bq, K]) are disposed as soon as the next one exists, so at most ~3 are alive.
 */
function runPlan(q: Tensor, k: Tensor, v: Tensor, plan: BlockPlan, ctx: AttentionContext, heads: number[], H: number, maxGap: number): Tensor {
  return tf.tidy(() => runPlanTidy(q, k, v, plan, ctx, heads, H, maxGap));
}

function runPlanTidy(q: Tensor, k: Tensor, v: Tensor, plan: BlockPlan, ctx: AttentionContext, heads: number[], H: number, maxGap: number): Tensor {
  const [B, Hg, , Dh] = q.shape as number[];
  const Dv = (v.shape as number[])[3];
  const { nBlocks: nB, bq, K } = plan;
  const qi = tf.tensor1d(clampIdx(plan.qIdx), 'int32');
  const ki = tf.tensor1d(clampIdx(plan.kIdx), 'int32');
  const Vb = tf.reshape(tf.gather(v, ki, 2), [B * Hg * nB, K, Dv]); // [B·Hg·nB, K, Dv]
  let x = tf.tidy(() => {
    const Qb = tf.reshape(tf.gather(q, qi, 2), [B * Hg * nB, bq, Dh]); // [B·Hg·nB, bq, Dh]
    const Kb = tf.reshape(tf.gather(k, ki, 2), [B * Hg * nB, K, Dh]); // [B·Hg·nB, K, Dh]
    return tf.reshape(tf.matMul(Qb, Kb, false, true), [B, Hg, nB, bq, K]); // [B, Hg, nB, bq, K]
  });
  const replace = (next: Tensor) => {
    x.dispose();
    x = next;
  };
  if (typeof ctx.scale === 'number') replace(tf.mul(x, ctx.scale));
  else {
    const s = tf.tidy(() => tf.reshape(pickHeads(tf.reshape(ctx.scale as Tensor, [1, H]), heads, H), [1, Hg, 1, 1, 1]));
    replace(tf.mul(x, s));
  }
  if (ctx.logitBias) {
    const bias = tf.tidy(() => planBias(plan, ctx, heads, H, B, maxGap)); // [B|1, Hg|1, nB, bq, K]
    replace(tf.add(x, bias));
    bias.dispose();
  }
  const mask = planMask(plan, ctx, qi, ki); // [B|1, 1, nB, bq, K]
  replace(tf.add(x, mask));
  const anyAllowed = tf.tidy(() => tf.cast(tf.greater(tf.max(mask, -1, true), MASKED / 2), 'float32')); // [B|1, 1, nB, bq, 1]
  mask.dispose();
  replace(tf.softmax(x));
  replace(tf.mul(x, anyAllowed)); // fully masked rows -> 0
  const o = tf.matMul(tf.reshape(x, [B * Hg * nB, bq, K]), Vb); // [B·Hg·nB, bq, Dv]
  x.dispose();
  return tf.reshape(o, [B, Hg, nB * bq, Dv]); // [B, Hg, nB·bq, Dv]
}

/** Score elements computed at once (2^18 floats = 1 MiB per score-sized tensor). */
const SCORE_BUDGET = 1 << 18;

/** Blocks n0 .. n1-1 of a plan. */
function slicePlan(plan: BlockPlan, n0: number, n1: number): BlockPlan {
  if (n0 === 0 && n1 === plan.nBlocks) return plan;
  const { bq, K } = plan;
  return {
    nBlocks: n1 - n0,
    bq,
    K,
    qIdx: plan.qIdx.subarray(n0 * bq, n1 * bq),
    kIdx: plan.kIdx.subarray(n0 * K, n1 * K),
    allowed: plan.allowed.subarray(n0 * bq * K, n1 * bq * K),
  };
}

/**
 * Run a block-sparse pattern. q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv]
 * -> [B, H, Lq, Dv]. `maxGap`: key slots whose indices rise by at most this much share one
 * logit-bias tile (1 for contiguous windows, the dilation for dilated ones).
 */
export function blockSparseAttention(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, groups: HeadGroup[], maxGap = 1): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq] = q.shape as number[];
    const kk = repeatKv(k, H); // [B, H, Lk, Dh]
    const vv = repeatKv(v, H); // [B, H, Lk, Dv]
    const outs: Tensor[] = [];
    const order: number[] = [];
    for (const group of groups) {
      const qg = pickHeads(q, group.heads, H); // [B, Hg, Lq, Dh]
      const kg = pickHeads(kk, group.heads, H); // [B, Hg, Lk, Dh]
      const vg = pickHeads(vv, group.heads, H); // [B, Hg, Lk, Dv]
      // Where each query row landed in the concatenated plan outputs.
      const where = new Int32Array(Lq).fill(-1);
      let offset = 0;
      const parts = group.plans.map((plan) => {
        plan.qIdx.forEach((row, slot) => {
          if (row < 0) return;
          if (where[row] >= 0) throw new ShapeError(`block-sparse attention: query row ${row} appears in two plans`);
          where[row] = offset + slot;
        });
        offset += plan.nBlocks * plan.bq;
        // Blocks in chunks of ≤ SCORE_BUDGET scores, so the transient score tensors stay small.
        const per = Math.max(1, Math.floor(SCORE_BUDGET / (B * group.heads.length * plan.bq * plan.K)));
        const chunks: Tensor[] = [];
        for (let n = 0; n < plan.nBlocks; n += per) chunks.push(runPlan(qg, kg, vg, slicePlan(plan, n, Math.min(plan.nBlocks, n + per)), ctx, group.heads, H, maxGap));
        return chunks.length === 1 ? chunks[0] : tf.concat(chunks, 2); // [B, Hg, nB·bq, Dv]
      });
      const missing = where.indexOf(-1);
      if (missing >= 0) throw new ShapeError(`block-sparse attention: query row ${missing} is in no plan`);
      const all = parts.length === 1 ? parts[0] : tf.concat(parts, 2); // [B, Hg, Σ nB·bq, Dv]
      outs.push(tf.gather(all, tf.tensor1d(where, 'int32'), 2)); // [B, Hg, Lq, Dv]
      order.push(...group.heads);
    }
    const out = outs.length === 1 ? outs[0] : tf.concat(outs, 1); // [B, H, Lq, Dv] in group order
    if (order.every((h, i) => h === i)) return out;
    const inverse = new Int32Array(H);
    order.forEach((h, i) => (inverse[h] = i));
    return tf.gather(out, tf.tensor1d(inverse, 'int32'), 1); // [B, H, Lq, Dv]
  });
}
