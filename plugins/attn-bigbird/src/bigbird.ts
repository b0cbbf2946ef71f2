/**
 * Big Bird attention — Zaheer et al., "Big Bird: Transformers for Longer Sequences"
 * (arXiv 2007.14062), §2 and Appendix D (the blocked BIGBIRD-ITC pattern).
 *
 * Notation (paper → code):
 *   b      block size: the sequence is cut into nb = L / b blocks        `blockSize`
 *   r      random key blocks per middle query block                     `numRandomBlocks`
 *   w      sliding window: 3 blocks (i-1, i, i+1)                         fixed, as in the paper
 *   g      global blocks: ITC uses the first and the last block          fixed (ITC)
 *   R      random table, per head: R[h][i-1] = the r random key blocks of query block i
 *          (i = 1 .. nb-2), drawn from outside {0, nb-1, i-1, i, i+1}      `bigbirdRandomTable`
 *
 * The pattern (ITC, eq. (1) with the graph D of §2), for query block I and key block J:
 *   allowed(I, J) = I ∈ {0, nb-1}                         (global queries see everything)
 *                or J ∈ {0, nb-1}                         (everyone sees the global keys)
 *                or |I - J| ≤ 1                           (sliding window of 3 blocks)
 *                or J ∈ R[h][I-1]                         (r random blocks)
 * Attention is the usual softmax(scale · q·k + bias) v over the allowed keys, computed block by
 * block (@weft/nn blockSparseAttention): a middle query block gathers (3 + 2 + r)·b key slots, the
 * two global query blocks see all L keys, so scores are O(L·(5 + r)·b + 2·b·L), never L×L.
 *
 * As in HF `BigBirdAttention`, sequences with L ≤ (5 + 2r)·b run dense attention (the sparse
 * pattern would cover almost everything). CONVENTIONS: query block 1 also excludes block nb-2
 * from its random candidates, and block nb-2 excludes block 1.
 */
import {
  Rng,
  ShapeError,
  z,
  type AttentionContext,
  type AttentionKernel,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { blockSparseAttention, emptyPlan, type BlockPlan, type HeadGroup } from '@weft/nn';

/** Options: the paper's hyper-parameters, with its names and defaults (BIGBIRD-ITC base: b = 64, r = 3). */
export const BigbirdOptions = z.object({
  /** Block size b (HF block_size). */
  blockSize: z
    .number({ message: 'blockSize must be a whole number of tokens ≥ 1, e.g. 64' })
    .int({ message: 'blockSize must be a whole number of tokens ≥ 1, e.g. 64' })
    .positive({ message: 'blockSize must be ≥ 1, e.g. 64' })
    .default(64),
  /** Random key blocks r per middle query block (HF num_random_blocks). */
  numRandomBlocks: z
    .number({ message: 'numRandomBlocks must be a whole number ≥ 0, e.g. 3' })
    .int({ message: 'numRandomBlocks must be a whole number ≥ 0, e.g. 3' })
    .nonnegative({ message: 'numRandomBlocks must be ≥ 0, e.g. 3' })
    .default(3),
  /** Seed of the random tables; each layer draws its own table from (seed, layer index). */
  seed: z.number({ message: 'seed must be a whole number, e.g. 0' }).int({ message: 'seed must be a whole number, e.g. 0' }).default(0),
});
export type BigbirdOptions = z.output<typeof BigbirdOptions>;

/** What this implementation really supports: the builder refuses combinations from these. */
export const bigbirdCapabilities: SlotCapabilities['attention'] = {
  causal: false,
  bidirectional: true,
  bias: true,
  padding: true,
  segments: true,
  decode: false,
  weights: false,
};

/** Per head, per middle query block i = 1 .. nb-2: its r random key blocks. */
export type RandomTable = number[][][];

/** True when the sequence is short enough that Big Bird runs dense attention (HF's rule). */
export const bigbirdIsDense = (L: number, b: number, r: number): boolean => L <= (5 + 2 * r) * b;

/** The key blocks query block i may not draw at random (ITC; CONVENTIONS' rows 1 and nb-2). */
export function excludedBlocks(i: number, nb: number): Set<number> {
  const ex = new Set([0, nb - 1, i - 1, i, i + 1]);
  if (i === 1) ex.add(nb - 2);
  if (i === nb - 2) ex.add(1);
  return ex;
}

/**
 * Draw the random table for `heads` heads and nb blocks: r distinct blocks per middle query
 * block, uniformly from the candidates (a partial Fisher–Yates shuffle with `rng`).
 */
export function bigbirdRandomTable(nb: number, r: number, heads: number, rng: Rng): RandomTable {
  return Array.from({ length: heads }, () =>
    Array.from({ length: Math.max(0, nb - 2) }, (_, m) => {
      const i = m + 1;
      const ex = excludedBlocks(i, nb);
      const cand = Array.from({ length: nb }, (_, j) => j).filter((j) => !ex.has(j));
      if (cand.length < r) throw new ShapeError(`bigbird: query block ${i} of ${nb} has only ${cand.length} random candidates for numRandomBlocks = ${r}`);
      for (let t = 0; t < r; t++) {
        const s = t + rng.int(cand.length - t);
        [cand[t], cand[s]] = [cand[s], cand[t]];
      }
      return cand.slice(0, r);
    }),
  );
}

/**
 * The plans of one head: (1) the nb-2 middle query blocks, each against window, global and
 * random key blocks ((5 + r)·b slots; a global block already in the window leaves its slot
 * empty, so no key is counted twice); (2) the two global query blocks against all keys.
 */
export function bigbirdPlans(L: number, b: number, table: number[][]): BlockPlan[] {
  const nb = L / b;
  const r = table[0]?.length ?? 0;
  const K = (5 + r) * b;
  const middle = emptyPlan(nb - 2, b, K);
  for (let i = 1; i <= nb - 2; i++) {
    const n = i - 1;
    for (let s = 0; s < b; s++) middle.qIdx[n * b + s] = i * b + s;
    const seen = new Set<number>();
    const keyBlocks = [i - 1, i, i + 1, 0, nb - 1, ...table[n]];
    keyBlocks.forEach((J, slot) => {
      if (seen.has(J)) return; // block 0 or nb-1 already in the window
      seen.add(J);
      for (let t = 0; t < b; t++) {
        middle.kIdx[n * K + slot * b + t] = J * b + t;
        for (let s = 0; s < b; s++) middle.allowed[(n * b + s) * K + slot * b + t] = 1;
      }
    });
  }
  const global = emptyPlan(2, b, L);
  [0, nb - 1].forEach((I, n) => {
    for (let s = 0; s < b; s++) global.qIdx[n * b + s] = I * b + s;
    for (let j = 0; j < L; j++) global.kIdx[n * L + j] = j;
  });
  global.allowed.fill(1);
  return nb > 2 ? [middle, global] : [global];
}

export class BigbirdAttention implements AttentionKernel {
  readonly supports = bigbirdCapabilities;

  constructor(readonly options: BigbirdOptions) {}

  /** The random table this kernel uses at layer `layerIndex` for nb blocks and H heads. */
  table(nb: number, heads: number, layerIndex: number): RandomTable {
    return bigbirdRandomTable(nb, this.options.numRandomBlocks, heads, new Rng(this.options.seed).fork(layerIndex));
  }

  /** q [B, H, L, Dh], k [B, Hkv, L, Dh], v [B, Hkv, L, Dv] -> [B, H, L, Dv]. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, L] = q.shape as number[];
    const { blockSize: b, numRandomBlocks: r } = this.options;
    if (bigbirdIsDense(L, b, r) && L === (k.shape as number[])[2]) return this.attendWithTable(q, k, v, ctx, []);
    return this.attendWithTable(q, k, v, ctx, this.table(L / b, H, ctx.layerIndex));
  }

  /** Big Bird with an explicit random table (one entry per head); [] on the dense path. */
  attendWithTable(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, table: RandomTable): Tensor {
    const [, H, L] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const { blockSize: b, numRandomBlocks: r } = this.options;
    if (Lk !== L) throw new ShapeError(`bigbird: query length ${L} ≠ key length ${Lk}; Big Bird is self-attention without decoding (capability decode: false)`);
    if (ctx.causal) throw new ShapeError('bigbird: the ITC pattern is bidirectional; use it in an encoder (causal: false)');
    if (bigbirdIsDense(L, b, r)) {
      // Dense attention: one plan, every query against every key.
      const plan = emptyPlan(1, L, L);
      for (let i = 0; i < L; i++) plan.qIdx[i] = plan.kIdx[i] = i;
      plan.allowed.fill(1);
      return blockSparseAttention(q, k, v, ctx, [{ heads: Array.from({ length: H }, (_, h) => h), plans: [plan] }]);
    }
    if (L % b !== 0) throw new ShapeError(`bigbird: sequence length ${L} is not a multiple of blockSize ${b}; pad the input to a multiple of ${b} (with a padding mask)`);
    if (table.length !== H) throw new ShapeError(`bigbird: the random table has ${table.length} head(s), the input ${H}`);
    const groups: HeadGroup[] = table.map((t, h) => ({ heads: [h], plans: bigbirdPlans(L, b, t) }));
    return blockSparseAttention(q, k, v, ctx, groups);
  }
}

