/**
 * Sparse Transformer attention — Child, Gray, Radford & Sutskever, "Generating Long Sequences
 * with Sparse Transformers" (arXiv 1904.10509), §4.2-4.3: factorized self-attention.
 *
 * Notation (paper → code):
 *   l          stride (≈ √n)                                                   `stride`
 *   c          summary width of the fixed pattern                              `c`
 *   A_i^(1), A_i^(2)   the two factorized key sets of query i (causal: j ≤ i)
 *   p          key-aligned position of query row i: i + queryOffset (decoding: cached − new)
 *
 * Strided (§4.2): A^(1)_i = {j : max(0, i − l) ≤ j ≤ i}       (the previous l tokens)
 *                 A^(2)_i = {j : (i − j) mod l = 0, j ≤ i}      (every l-th token back)
 * Fixed   (§4.2): A^(1)_i = {j : ⌊j/l⌋ = ⌊i/l⌋, j ≤ i}          (own stride block)
 *                 A^(2)_i = {j : j mod l ∈ {l − c, …, l − 1}, j ≤ i}   (summary columns)
 * Attend(X, S) = softmax(scale · q_i·k_j | j ∈ S_i) v  (eq. 2-4), each set on its own.
 *
 * Factorization (§4.3): `heads` — the paper's multi-head variant: the first ⌈H/2⌉ heads use
 * A^(1), the others A^(2) (every j ≤ i is reachable in two hops, across two layers);
 * `interleaved` — one set per layer: even layers A^(1), odd layers A^(2) (ctx.layerIndex).
 * The `merged` variant (one head over A^(1) ∪ A^(2)) is not implemented.
 *
 * Blocking (./block-sparse.ts): A^(1) strided = query blocks of bq rows against bq + l
 * neighbouring keys; A^(2) strided = rows of one residue class (p mod l) against that class's
 * ⌈Lk/l⌉ keys; fixed A^(1) = each stride block against itself; fixed A^(2) = bq rows against the
 * c·⌈Lk/l⌉ summary columns. With l ≈ √n all are O(n√n) scores, never n×n.
 */
import {
  ConfigError,
  z,
  type AttentionContext,
  type AttentionKernel,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { blockSparseAttention, emptyPlan, type BlockPlan, type HeadGroup } from '@weft/nn';

/** Options: the paper's hyper-parameters, with its names and defaults. */
export const SparseTransformerOptions = z.object({
  pattern: z.enum(['strided', 'fixed'], { message: 'pattern must be "strided" (images, audio) or "fixed" (text)' }).default('strided'),
  /** Stride l; the paper uses l ≈ √n (128 for images of 16384 positions / text 128). */
  stride: z
    .number({ message: 'stride must be a whole number of tokens ≥ 1, e.g. 128 (≈ √n)' })
    .int({ message: 'stride must be a whole number of tokens ≥ 1, e.g. 128 (≈ √n)' })
    .positive({ message: 'stride must be ≥ 1, e.g. 128 (≈ √n)' })
    .default(128),
  /** Summary width c of the fixed pattern (the paper: c ∈ {8, 16, 32} with l ∈ {128, 256}). */
  c: z
    .number({ message: 'c must be a whole number of summary columns, 1 ≤ c ≤ stride, e.g. 8' })
    .int({ message: 'c must be a whole number of summary columns, 1 ≤ c ≤ stride, e.g. 8' })
    .positive({ message: 'c must be ≥ 1, e.g. 8' })
    .default(8),
  factorization: z
    .enum(['heads', 'interleaved'], { message: 'factorization must be "heads" (half the heads per set) or "interleaved" (alternate sets across layers)' })
    .default('heads'),
});
export type SparseTransformerOptions = z.output<typeof SparseTransformerOptions>;

/** Causal only (the paper models p(x_i | x_<i)); no logit bias (a residue-class block's bias tile would be L-wide). */
export const sparseTransformerCapabilities: SlotCapabilities['attention'] = {
  causal: true,
  bidirectional: false,
  bias: false,
  padding: true,
  segments: true,
  decode: true,
  weights: false,
};

/** Options that depend on each other or on the model (throws ConfigError naming the field). */
export function checkSparseTransformerOptions(o: SparseTransformerOptions, heads: number | undefined, path = 'attention'): void {
  if (o.pattern === 'fixed' && o.c > o.stride) {
    throw new ConfigError(`${path}.c`, `c = ${o.c} summary columns cannot exceed stride = ${o.stride}; use c ≤ stride (the paper: c = 8 with stride 128)`);
  }
  if (heads !== undefined && o.factorization === 'heads' && heads < 2) {
    throw new ConfigError(`${path}.factorization`, `factorization "heads" splits the heads between A(1) and A(2), but the model has ${heads} head; use ≥ 2 heads or factorization "interleaved"`);
  }
}

const mod = (a: number, m: number) => ((a % m) + m) % m;
const BQ = 16;

/** Strided A(1): the previous l tokens and itself. */
function stridedLocal(Lq: number, Lk: number, off: number, l: number): BlockPlan {
  const bq = BQ;
  const nB = Math.ceil(Lq / bq);
  const K = bq + l;
  const plan = emptyPlan(nB, bq, K);
  for (let n = 0; n < nB; n++) {
    const first = n * bq + off;
    for (let t = 0; t < K; t++) {
      const j = first - l + t;
      if (j >= 0 && j < Lk) plan.kIdx[n * K + t] = j;
    }
    for (let s = 0; s < bq && n * bq + s < Lq; s++) {
      const i = n * bq + s;
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j >= 0 && j <= i + off && j >= i + off - l) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    }
  }
  return plan;
}

/** Strided A(2): every l-th earlier token — one residue class (p mod l) at a time. */
function stridedColumns(Lq: number, Lk: number, off: number, l: number): BlockPlan {
  const bq = BQ;
  const K = Math.ceil(Lk / l);
  const blocks: Array<{ r: number; rows: number[] }> = [];
  for (let r = 0; r < l; r++) {
    const rows: number[] = [];
    for (let i = 0; i < Lq; i++) if (mod(i + off, l) === r) rows.push(i);
    for (let s = 0; s < rows.length; s += bq) blocks.push({ r, rows: rows.slice(s, s + bq) });
  }
  const plan = emptyPlan(blocks.length, bq, K);
  blocks.forEach(({ r, rows }, n) => {
    for (let t = 0; t < K; t++) if (r + t * l < Lk) plan.kIdx[n * K + t] = r + t * l;
    rows.forEach((i, s) => {
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j >= 0 && j <= i + off) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    });
  });
  return plan;
}

/** Fixed A(1): the query's own stride block ⌊p/l⌋, up to itself. */
function fixedBlock(Lq: number, Lk: number, off: number, l: number): BlockPlan {
  const firstBlock = Math.floor(off / l);
  const nB = Math.floor((Lq - 1 + off) / l) - firstBlock + 1;
  const plan = emptyPlan(nB, l, l);
  for (let n = 0; n < nB; n++) {
    const start = (firstBlock + n) * l;
    for (let t = 0; t < l; t++) if (start + t < Lk) plan.kIdx[n * l + t] = start + t;
    for (let s = 0; s < l; s++) {
      const i = start + s - off;
      if (i < 0 || i >= Lq) continue;
      plan.qIdx[n * l + s] = i;
      for (let t = 0; t <= s; t++) if (start + t < Lk) plan.allowed[(n * l + s) * l + t] = 1;
    }
  }
  return plan;
}

/** Fixed A(2): the summary columns j mod l ∈ {l − c, …, l − 1} up to the query. */
function fixedSummary(Lq: number, Lk: number, off: number, l: number, c: number): BlockPlan {
  const bq = BQ;
  const nB = Math.ceil(Lq / bq);
  const K = c * Math.ceil(Lk / l);
  const plan = emptyPlan(nB, bq, K);
  for (let n = 0; n < nB; n++) {
    for (let t = 0; t < K; t++) {
      const j = Math.floor(t / c) * l + (l - c) + (t % c);
      if (j < Lk) plan.kIdx[n * K + t] = j;
    }
    for (let s = 0; s < bq && n * bq + s < Lq; s++) {
      const i = n * bq + s;
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j >= 0 && j <= i + off) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    }
  }
  return plan;
}

/** The plan of A^(set) (1 or 2) for Lq queries against Lk keys, queries at p = i + off. */
export function sparseTransformerPlan(o: Pick<SparseTransformerOptions, 'pattern' | 'stride' | 'c'>, set: 1 | 2, Lq: number, Lk: number, off: number): BlockPlan {
  if (o.pattern === 'strided') return set === 1 ? stridedLocal(Lq, Lk, off, o.stride) : stridedColumns(Lq, Lk, off, o.stride);
  return set === 1 ? fixedBlock(Lq, Lk, off, o.stride) : fixedSummary(Lq, Lk, off, o.stride, o.c);
}

export class SparseTransformerAttention implements AttentionKernel {
  readonly supports = sparseTransformerCapabilities;

  constructor(readonly options: SparseTransformerOptions) {
    checkSparseTransformerOptions(options, undefined);
  }

  /** Which set (1 or 2) each head uses in layer `layerIndex`. */
  setsOf(H: number, layerIndex: number): Array<1 | 2> {
    if (this.options.factorization === 'interleaved') return new Array(H).fill(layerIndex % 2 === 0 ? 1 : 2);
    checkSparseTransformerOptions(this.options, H);
    return Array.from({ length: H }, (_, h) => (h < Math.ceil(H / 2) ? 1 : 2));
  }

  /** q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv] -> [B, H, Lq, Dv]. Causal only. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    if (!ctx.causal) {
      throw new ConfigError('attention', 'the Sparse Transformer pattern is causal only (it models p(x_i | x_<i)); use a causal model or a bidirectional kernel (dense, longformer)');
    }
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const sets = this.setsOf(H, ctx.layerIndex);
    const groups: HeadGroup[] = ([1, 2] as const)
      .map((set) => ({ set, heads: sets.flatMap((s, h) => (s === set ? [h] : [])) }))
      .filter((g) => g.heads.length > 0)
      .map(({ set, heads }) => ({ heads, plans: [sparseTransformerPlan(this.options, set, Lq, Lk, ctx.queryOffset)] }));
    return blockSparseAttention(q, k, v, ctx, groups);
  }
}
