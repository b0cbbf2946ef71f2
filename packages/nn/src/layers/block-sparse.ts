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
 * SCORE_BUDGET scores, so the transient softmax tensors are bounded whatever the pattern.
 * While a gradient is recorded (and there is no logit bias, whose parameters are not inputs
 * here), each head group is one custom-gradient op whose backward recomputes one chunk at a
 * time, so training holds one chunk's scores instead of every chunk's. The pattern builder is
 * responsible for listing each allowed (query, key) pair exactly once per row (no duplicated
 * key slots), so the result equals dense attention under the same mask. Every query row must
 * appear in exactly one plan of its group. On top of the structural mask the engine applies,
 * per batch row, key padding and segment ids from the AttentionContext. Fully masked rows
 * output 0 (like dense). `blockSparseAttentionWithLse` also returns each row's logsumexp.
 *
 * Speed on wasm: rows are gathered as runs of consecutive indices (slices and one concat),
 * the scale is applied to q, the structural mask is built once per plan (keep plans across
 * calls), and a plan should have few, wide blocks (bq ≥ 64 where the pattern allows).
 *
 * Notation: B batch, H query heads, Hkv kv heads, Lq / Lk query / key length, Dh head width,
 * nB blocks, bq query slots per block, K key slots per block, Hg heads in a group.
 */
import { ShapeError, tf, withOwnTape, type AttentionContext, type Tensor } from '@weft/core';

/** Large negative logit for masked pairs (finite, so a fully masked row does not give NaN). */
const MASKED = -1e9;
/** The logsumexp reported for a row with no allowed key: exp(NO_KEYS − anything finite) = 0. */
const NO_KEYS = -1e30;

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

/** A run of consecutive entries of an index list: `len` entries from `first` on (first -1: empty slots). */
interface Run {
  first: number;
  len: number;
}

function runsOf(idx: Int32Array): Run[] {
  const runs: Run[] = [];
  for (let t = 0; t < idx.length; ) {
    const first = idx[t];
    let e = t + 1;
    while (e < idx.length && (first < 0 ? idx[e] < 0 : idx[e] === first + (e - t))) e++;
    runs.push({ first, len: e - t });
    t = e;
  }
  return runs;
}

/**
 * x[:, idx] along axis 1 or 2 of a rank-4 tensor (-1 entries: empty slots, zero rows or row 0,
 * which the plan masks). tfjs's wasm
 * GatherV2 moves one element at a time (~40 ns each), so an index list made of a few runs of
 * consecutive rows is copied run by run instead: each run is one contiguous slice of the
 * [outer, axis·inner] view, then one concat. Its gradient scatters back with a single
 * unsortedSegmentSum (the gradient tfjs would give the gather). Lists of many short runs
 * (dilated windows) use the gather.
 */
function gatherRows(x: Tensor, idx: Int32Array, axis: 1 | 2): Tensor {
  const shape = x.shape as number[];
  const n = shape[axis];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outShape = shape.map((d, a) => (a === axis ? idx.length : d));
  if (idx.length === n && idx.every((i, t) => i === t)) return x;
  const runs = runsOf(idx);
  if (runs.length > Math.max(8, idx.length / 8)) return tf.gather(x, tf.tensor1d(clampIdx(idx), 'int32'), axis);
  const op = tf.customGrad((...args: (Tensor | ((saved: Tensor[]) => void))[]) => {
    const xx = args[0] as Tensor;
    const value = tf.tidy(() => {
      const flat = tf.reshape(xx, [outer, n * inner]); // [outer, n·inner]
      const parts = runs.map((r) => (r.first < 0 ? tf.zeros([outer, r.len * inner]) : tf.slice(flat, [0, r.first * inner], [outer, r.len * inner])));
      return tf.reshape(parts.length === 1 ? parts[0] : tf.concat(parts, 1), outShape); // [.., |idx|, ..]
    });
    const gradFunc = (dy: Tensor) =>
      tf.tidy(() => {
        const rows = tf.transpose(tf.reshape(dy, [outer, idx.length, inner]), [1, 0, 2]); // [|idx|, outer, inner]
        const sum = tf.unsortedSegmentSum(rows, tf.tensor1d(clampIdx(idx), 'int32'), n); // [n, outer, inner]
        return tf.reshape(tf.transpose(sum, [1, 0, 2]), shape); // x's shape
      });
    return { value, gradFunc };
  });
  return op(x);
}

/** Heads h0 .. h0 + hn − 1 of x [B, H, L, D], sliced as whole [L·D] rows: [B, hn, L, D]. */
function headRange(x: Tensor, h0: number, hn: number): Tensor {
  const [B, H, L, D] = x.shape as number[];
  return tf.reshape(tf.slice(tf.reshape(x, [B, H, L * D]), [0, h0, 0], [B, hn, L * D]), [B, hn, L, D]); // [B, hn, L, D]
}

function pickHeads(x: Tensor, heads: number[], H: number): Tensor {
  if (heads.length === H && heads.every((h, i) => h === i)) return x;
  return gatherRows(x, Int32Array.from(heads), 1);
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
 * The structural mask of each plan as logits (0 allowed, MASKED not), built once per `allowed`
 * array: a pattern builder that keeps its plan (or a copy sharing `allowed`) pays for it once.
 */
const structuralLogits = new WeakMap<Uint8Array, Float32Array>();

function structuralOf(plan: BlockPlan): Float32Array {
  let s = structuralLogits.get(plan.allowed);
  if (!s) {
    s = new Float32Array(plan.allowed.length);
    for (let t = 0; t < s.length; t++) s[t] = plan.allowed[t] ? 0 : MASKED;
    structuralLogits.set(plan.allowed, s);
  }
  return s;
}

/**
 * The additive mask of blocks n0 .. n1-1 of a plan: 0 where allowed, MASKED elsewhere,
 * [B or 1, 1, nB, bq, K]: the pattern's structural mask, then key padding and segment ids per batch row.
 */
function planMask(plan: BlockPlan, n0: number, n1: number, ctx: AttentionContext): Tensor {
  const { bq, K } = plan;
  const nB = n1 - n0;
  let mask = tf.tensor(structuralOf(plan).subarray(n0 * bq * K, n1 * bq * K), [1, 1, nB, bq, K], 'float32'); // [1, 1, nB, bq, K]
  if (!ctx.keyPaddingMask && !(ctx.querySegmentIds && ctx.keySegmentIds)) return mask;
  return tf.tidy(() => {
    const ki = tf.tensor1d(clampIdx(plan.kIdx.subarray(n0 * K, n1 * K)), 'int32');
    if (ctx.keyPaddingMask) {
      const keep = tf.reshape(tf.gather(tf.cast(ctx.keyPaddingMask, 'float32'), ki, 1), [-1, 1, nB, 1, K]); // [B, 1, nB, 1, K]
      mask = tf.add(mask, tf.mul(tf.sub(1, keep), MASKED));
    }
    if (ctx.querySegmentIds && ctx.keySegmentIds) {
      const qi = tf.tensor1d(clampIdx(plan.qIdx.subarray(n0 * bq, n1 * bq)), 'int32');
      const qs = tf.reshape(tf.gather(ctx.querySegmentIds, qi, 1), [-1, 1, nB, bq, 1]); // [B, 1, nB, bq, 1]
      const ks = tf.reshape(tf.gather(ctx.keySegmentIds, ki, 1), [-1, 1, nB, 1, K]); // [B, 1, nB, 1, K]
      mask = tf.add(mask, tf.mul(tf.sub(1, tf.cast(tf.equal(qs, ks), 'float32')), MASKED));
    }
    return tf.maximum(mask, MASKED); // clamp, so a doubly masked pair is still just MASKED
  });
}

/**
 * logsumexp over the last axis, keepDims, with the gradient softmax(x)·dy. The value is
 * max(x) − log(max(softmax(x))) (the largest probability is exp(max − lse) ≥ 1/K), which reads
 * the scores with two reductions and tfjs's softmax kernel instead of an exp pass, and the
 * custom gradient skips the max's (net zero) gradient, a score-sized equality mask in tfjs.
 */
const logSumExpRows = tf.customGrad((...args: (Tensor | ((saved: Tensor[]) => void))[]) => {
  const x = args[0] as Tensor;
  const save = args[1] as (saved: Tensor[]) => void;
  save([x]);
  const value = tf.tidy(() => tf.sub(tf.max(x, -1, true), tf.log(tf.max(tf.softmax(x), -1, true)))); // [.., 1]
  return { value, gradFunc: (dy: Tensor, [sx]: Tensor[]) => tf.mul(dy, tf.softmax(sx)) };
}) as (x: Tensor) => Tensor;

/**
 * Blocks n0 .. n1-1 of one plan for one head group, q already scaled: returns
 * [B, Hg, nB·bq, Dv]. The only score-sized tensors a gradient keeps are the logits' softmax
 * (the matmul input); the scale sits on q and the fully-masked-row zeroing on the output rows.
 */
function runBlocks(q: Tensor, k: Tensor, v: Tensor, plan: BlockPlan, n0: number, n1: number, ctx: AttentionContext, heads: number[], H: number, maxGap: number, withLse: boolean): Tensor {
  return tf.tidy(() => {
    const [B, Hg, , Dh] = q.shape as number[];
    const Dv = (v.shape as number[])[3];
    const { bq, K } = plan;
    const nB = n1 - n0;
    const part = slicePlan(plan, n0, n1);
    const Qb = tf.reshape(gatherRows(q, part.qIdx, 2), [B * Hg * nB, bq, Dh]); // [B·Hg·nB, bq, Dh]
    const Kb = tf.reshape(gatherRows(k, part.kIdx, 2), [B * Hg * nB, K, Dh]); // [B·Hg·nB, K, Dh]
    const Vb = tf.reshape(gatherRows(v, part.kIdx, 2), [B * Hg * nB, K, Dv]); // [B·Hg·nB, K, Dv]
    // Score-sized tensors are disposed as soon as the next one exists (≤ 3 alive at once).
    const mask = planMask(plan, n0, n1, ctx); // [B|1, 1, nB, bq, K]
    const anyAllowed = tf.tidy(() => tf.cast(tf.greater(tf.max(mask, -1, true), MASKED / 2), 'float32')); // [B|1, 1, nB, bq, 1]
    const logits = tf.tidy(() => {
      let x = tf.reshape(tf.matMul(Qb, Kb, false, true), [B, Hg, nB, bq, K]); // [B, Hg, nB, bq, K]
      if (ctx.logitBias) x = tf.add(x, tf.tidy(() => planBias(part, ctx, heads, H, B, maxGap))); // + [B|1, Hg|1, nB, bq, K]
      return tf.add(x, mask);
    });
    mask.dispose();
    const lse = withLse ? logSumExpRows(logits) : undefined; // [B, Hg, nB, bq, 1]
    const p = tf.softmax(logits); // [B, Hg, nB, bq, K]
    logits.dispose();
    const o = tf.mul(tf.reshape(tf.matMul(tf.reshape(p, [B * Hg * nB, bq, K]), Vb), [B, Hg, nB, bq, Dv]), anyAllowed); // fully masked rows -> 0; [B, Hg, nB, bq, Dv]
    if (!lse) return tf.reshape(o, [B, Hg, nB * bq, Dv]); // [B, Hg, nB·bq, Dv]
    const l = tf.add(tf.mul(lse, anyAllowed), tf.mul(tf.sub(1, anyAllowed), NO_KEYS)); // [B, Hg, nB, bq, 1]
    // Concatenated at rank 4: tfjs's wasm Slice (the concat's gradient) is per element at rank 5.
    return tf.concat([tf.reshape(o, [B, Hg, nB * bq, Dv]), tf.reshape(l, [B, Hg, nB * bq, 1])], 3); // [B, Hg, nB·bq, Dv + 1]
  });
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

/** q · scale, with a per-head scale tensor [H] broadcast over [B, H, Lq, Dh]. */
function scaleQueries(q: Tensor, scale: AttentionContext['scale']): Tensor {
  if (typeof scale === 'number') return tf.mul(q, scale);
  return tf.mul(q, tf.reshape(scale, [1, -1, 1, 1])); // [B, H, Lq, Dh]
}

/**
 * Score elements per chunk of the backward's recomputation (2 MiB per score-sized tensor): it
 * holds about ten of them at once (tfjs keeps a backward's intermediates until it ends), and
 * each chunk costs ~100 ops, so it is a compromise between peak memory and op count. Blocks
 * wider than this are recomputed a few heads, then a few rows, at a time.
 */
const BACKWARD_SCORE_BUDGET = 1 << 19;

/**
 * The same plan with each block's rows cut into f sub-blocks of bq / f rows (f a power of two
 * dividing bq, as small as gets one sub-block under `budget` scores, bq / f ≥ 8): the row
 * layout of qIdx and allowed is unchanged, each block's key slots are repeated per sub-block.
 * The backward uses it to recompute wide blocks a few rows at a time.
 */
function splitRows(plan: BlockPlan, B: number, Hg: number, budget: number): BlockPlan {
  const { nBlocks, bq, K } = plan;
  let f = 1;
  while (B * Hg * (bq / f) * K > budget && bq % (2 * f) === 0 && bq / (2 * f) >= 8) f *= 2;
  if (f === 1) return plan;
  const sub = bq / f;
  const kIdx = new Int32Array(nBlocks * f * K);
  for (let n = 0; n < nBlocks; n++) for (let j = 0; j < f; j++) kIdx.set(plan.kIdx.subarray(n * K, (n + 1) * K), (n * f + j) * K);
  return { nBlocks: nBlocks * f, bq: sub, K, qIdx: plan.qIdx, kIdx, allowed: plan.allowed };
}

/** One plan's blocks, chunked so that each chunk has ≤ budget scores: [n0, n1) pairs. */
function chunksOf(plan: BlockPlan, B: number, Hg: number, budget = SCORE_BUDGET): Array<[number, number]> {
  const per = Math.max(1, Math.floor(budget / (B * Hg * plan.bq * plan.K)));
  const out: Array<[number, number]> = [];
  for (let n = 0; n < plan.nBlocks; n += per) out.push([n, Math.min(plan.nBlocks, n + per)]);
  return out;
}

/** One head group: q [B, Hg, Lq, Dh] (scaled), k, v [B, Hg, Lk, ·] -> [B, Hg, Lq, Dv]; `where` from `rowsOf`. */
function runGroup(q: Tensor, k: Tensor, v: Tensor, group: HeadGroup, where: Int32Array, ctx: AttentionContext, H: number, maxGap: number, withLse: boolean): Tensor {
  const B = (q.shape as number[])[0];
  const parts = group.plans.map((plan) => {
    const chunks = chunksOf(plan, B, group.heads.length).map(([n0, n1]) => runBlocks(q, k, v, plan, n0, n1, ctx, group.heads, H, maxGap, withLse));
    return chunks.length === 1 ? chunks[0] : tf.concat(chunks, 2); // [B, Hg, nB·bq, Dv]
  });
  const all = parts.length === 1 ? parts[0] : tf.concat(parts, 2); // [B, Hg, Σ nB·bq, Dv]
  return gatherRows(all, where, 2); // [B, Hg, Lq, Dv]
}

/** Where each query row lands in the group's concatenated plan outputs; checks each row is in exactly one plan. */
function rowsOf(group: HeadGroup, Lq: number): Int32Array {
  const where = new Int32Array(Lq).fill(-1);
  let offset = 0;
  for (const plan of group.plans) {
    plan.qIdx.forEach((row, slot) => {
      if (row < 0) return;
      if (where[row] >= 0) throw new ShapeError(`block-sparse attention: query row ${row} appears in two plans`);
      where[row] = offset + slot;
    });
    offset += plan.nBlocks * plan.bq;
  }
  const missing = where.indexOf(-1);
  if (missing >= 0) throw new ShapeError(`block-sparse attention: query row ${missing} is in no plan`);
  return where;
}

/**
 * A head group with a recomputing gradient (activation checkpointing per chunk): the forward
 * keeps only q, k, v and the context's masks; the backward runs each chunk again on its own
 * tape and adds its ∂/∂q, ∂/∂k, ∂/∂v, so a backward holds one chunk's scores at a time instead
 * of every chunk's. Used when there is no logit bias (whose parameters are not inputs here).
 */
function checkpointedGroup(q: Tensor, k: Tensor, v: Tensor, group: HeadGroup, where: Int32Array, ctx: AttentionContext, H: number, maxGap: number, withLse: boolean): Tensor {
  const B = (q.shape as number[])[0];
  const ctxTensors = [ctx.keyPaddingMask, ctx.querySegmentIds, ctx.keySegmentIds];
  const op = tf.customGrad((...args: (Tensor | ((saved: Tensor[]) => void))[]) => {
    const [qq, kk, vv] = args as Tensor[];
    const save = args[args.length - 1] as (saved: Tensor[]) => void;
    save([qq, kk, vv, ...ctxTensors.filter((t): t is Tensor => !!t)]);
    const value = runGroup(qq, kk, vv, group, where, ctx, H, maxGap, withLse);
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [sq, sk, sv, ...rest] = saved;
      const [pad, qSeg, kSeg] = ctxTensors.map((t) => (t ? rest.shift() : undefined));
      const c: AttentionContext = { ...ctx, keyPaddingMask: pad, querySegmentIds: qSeg, keySegmentIds: kSeg };
      // Heads are independent: a block too wide for the budget is recomputed a few heads at a
      // time (no key is gathered twice), and rows are split only when one head is still too wide.
      const Hg = group.heads.length;
      const perHeads = Math.max(1, Math.min(Hg, Math.floor(BACKWARD_SCORE_BUDGET / Math.max(...group.plans.map((p) => B * p.bq * p.K)))));
      const parts: Tensor[][] = [];
      for (let h0 = 0; h0 < Hg; h0 += perHeads) {
        const hn = Math.min(perHeads, Hg - h0);
        const pick = (x: Tensor) => (hn === Hg ? x : headRange(x, h0, hn));
        const [hq, hk, hv, hdy] = tf.tidy(() => [sq, sk, sv, dy].map(pick)); // [B, hn, ·, ·]
        let grads = [hq, hk, hv].map((x) => tf.zerosLike(x));
        for (const whole of group.plans) {
          const plan = splitRows(whole, B, hn, BACKWARD_SCORE_BUDGET);
          for (const [n0, n1] of chunksOf(plan, B, hn, BACKWARD_SCORE_BUDGET)) {
            const g = tf.tidy(() => {
              const dyChunk = gatherRows(hdy, plan.qIdx.subarray(n0 * plan.bq, n1 * plan.bq), 2); // [B, hn, nB·bq, Dv]
              return withOwnTape(() => {
                const f = () => tf.sum(tf.mul(runBlocks(hq, hk, hv, plan, n0, n1, c, group.heads, H, maxGap, withLse), dyChunk));
                const { value: y, grads: gs } = tf.engine().gradients(f, [hq, hk, hv], undefined, true);
                y.dispose();
                return gs.map((x, i) => x ?? tf.zerosLike([hq, hk, hv][i]));
              });
            });
            const next = grads.map((acc, i) => tf.add(acc, g[i]));
            tf.dispose([...grads, ...g]);
            grads = next;
          }
        }
        if (hn !== Hg) tf.dispose([hq, hk, hv, hdy]);
        parts.push(grads);
      }
      const grads = parts.length === 1 ? parts[0] : [0, 1, 2].map((i) => tf.concat(parts.map((p) => p[i]), 1)); // [B, Hg, ·, ·]
      if (parts.length > 1) tf.dispose(parts.flat());
      return grads;
    };
    return { value, gradFunc };
  });
  return op(q, k, v);
}

/**
 * Run a block-sparse pattern. q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv]
 * -> [B, H, Lq, Dv]. `maxGap`: key slots whose indices rise by at most this much share one
 * logit-bias tile (1 for contiguous windows, the dilation for dilated ones).
 */
export function blockSparseAttention(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, groups: HeadGroup[], maxGap = 1): Tensor {
  return run(q, k, v, ctx, groups, maxGap, false);
}

/**
 * blockSparseAttention plus each row's logsumexp of its allowed logits, lse [B, H, Lq, 1]
 * (-1e30 on rows with no allowed key), for patterns that merge several softmaxes (LongNet).
 */
export function blockSparseAttentionWithLse(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, groups: HeadGroup[], maxGap = 1): [Tensor, Tensor] {
  return tf.tidy(() => {
    const both = run(q, k, v, ctx, groups, maxGap, true); // [B, H, Lq, Dv + 1]
    const Dv = (both.shape as number[])[3] - 1;
    return tf.split(both, [Dv, 1], 3) as [Tensor, Tensor]; // [B, H, Lq, Dv], [B, H, Lq, 1]
  });
}

/**
 * Every group's heads of x [B, H, L, D], as thunks. While a gradient is recorded, x is put in
 * group order once and split: the split's gradient is one concat, where picking each group's
 * heads separately gives every group a full-size gradient of x, all kept until tfjs's backward
 * ends. Otherwise each group's heads are picked when it runs (fewer tensors alive at once).
 */
function headsByGroup(x: Tensor, groups: HeadGroup[], order: number[], H: number): Array<() => Tensor> {
  if (groups.length === 1 || !tf.engine().isTapeOn()) return groups.map((g) => () => pickHeads(x, g.heads, H));
  const y = pickHeads(x, order, H); // [B, H, L, D] in group order
  const [B, , L, D] = y.shape as number[];
  const sizes = groups.map((g) => g.heads.length);
  const parts = tf.split(tf.reshape(y, [B, order.length, L * D]), sizes, 1).map((t, n) => tf.reshape(t, [B, sizes[n], L, D])); // [B, Hg, L, D] each
  return parts.map((t) => () => t);
}

function run(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, groups: HeadGroup[], maxGap: number, withLse: boolean): Tensor {
  return tf.tidy(() => {
    const [, H, Lq] = q.shape as number[];
    const qs = scaleQueries(q, ctx.scale); // scale · q: the logits are then plain dot products
    const kk = repeatKv(k, H); // [B, H, Lk, Dh]
    const vv = repeatKv(v, H); // [B, H, Lk, Dv]
    const checkpoint = !ctx.logitBias && tf.engine().isTapeOn();
    const order = groups.flatMap((g) => g.heads);
    const [qgs, kgs, vgs] = [qs, kk, vv].map((x) => headsByGroup(x, groups, order, H));
    const outs = groups.map((group, i) => {
      const [qg, kg, vg] = [qgs[i](), kgs[i](), vgs[i]()]; // [B, Hg, ·, ·]
      const runOne = checkpoint ? checkpointedGroup : runGroup;
      return runOne(qg, kg, vg, group, rowsOf(group, Lq), ctx, H, maxGap, withLse); // [B, Hg, Lq, Dv (+ 1)]
    });
    const out = outs.length === 1 ? outs[0] : tf.concat(outs, 1); // [B, H, Lq, ·] in group order
    if (order.every((h, i) => h === i)) return out;
    const inverse = new Int32Array(H);
    order.forEach((h, i) => (inverse[h] = i));
    return gatherRows(out, inverse, 1); // [B, H, Lq, ·]
  });
}
