/**
 * Longformer attention — Beltagy, Peters & Cohan, "Longformer: The Long-Document Transformer"
 * (arXiv 2004.05150), §3.1: sliding window, dilated sliding window, global attention.
 *
 * Notation (paper → code):
 *   w      one-sided window: token i sees keys i-w .. i+w (span 2w+1)     `window`
 *          (HF `attention_window` is the full span 2w; CONVENTIONS: one-sided w)
 *   d      dilation: keys i + d·t for t = -w..w (gaps of d-1), per head    `dilation`
 *   G      the global tokens: they attend to every key and every query attends to them
 *          (symmetric, §3.1 "Global Attention")                             `globalTokens`
 *   p_i    key-aligned position of query row i: i + queryOffset (decoding: cached - new)
 *
 * The pattern, for query row i and key j (and causal: j ≤ p_i on top of it):
 *   allowed(i, j) = (|p_i - j| ≤ w·d  and  (p_i - j) mod d = 0)  or  p_i ∈ G  or  j ∈ G
 * Attention itself is the usual softmax(scale · q·k + bias) v over the allowed keys (eq. 1 of
 * Vaswani et al.), computed block by block (./block-sparse.ts): a block of bq query rows of one
 * dilation class sees bq + 2w window keys plus |G| global keys, so scores are O(L·(w+|G|)),
 * never L×L. Global query rows are computed separately against all keys: O(|G|·L).
 *
 * Dilation: rows with p_i ≡ r (mod d) only see keys j ≡ r (mod d); in that residue class the
 * dilated window is an ordinary window of w neighbours, so each class is blocked on its own.
 *
 * Not included: the paper's separate global projections Q_g, K_g, V_g (§3.1, "Linear
 * Projections for Global Attention") — they change the head layout, not the kernel.
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

const nonNegInt = (field: string, example: string) =>
  z
    .number({ message: `${field} must be a whole number of tokens, e.g. ${example}` })
    .int({ message: `${field} must be a whole number of tokens, e.g. ${example}` })
    .nonnegative({ message: `${field} must be ≥ 0, e.g. ${example}` });

/** Options: the paper's hyper-parameters, with its names and defaults. */
export const LongformerOptions = z.object({
  /** One-sided window w (HF attention_window = 2w; the released models use 512, i.e. w = 256). */
  window: nonNegInt('window', '256 (= HF attention_window 512 / 2)').default(256),
  /** Dilation d, one value for all heads or one per head (the paper dilates 2 heads of higher layers). */
  dilation: z
    .union([
      z.number().int({ message: 'dilation must be a whole number ≥ 1 (1 = no gaps)' }).positive({ message: 'dilation must be ≥ 1 (1 = no gaps)' }),
      z.array(z.number().int().positive({ message: 'every per-head dilation must be ≥ 1 (1 = no gaps)' })).nonempty({ message: 'dilation as a list needs one value per head, e.g. [1, 1, 2, 2]' }),
    ])
    .default(1),
  /** Token indices with global attention, e.g. [0] for a [CLS] token. */
  globalTokens: z.array(nonNegInt('each globalTokens index', '0 for the first token')).default([]),
});
export type LongformerOptions = z.output<typeof LongformerOptions>;

/** What this implementation really supports: the builder refuses combinations from these. */
export const longformerCapabilities: SlotCapabilities['attention'] = {
  causal: true,
  bidirectional: true,
  bias: true,
  padding: true,
  segments: true,
  decode: true,
  weights: false,
};

/** Check per-head dilations against the head count (called when the model is built). */
export function checkLongformerOptions(options: LongformerOptions, heads: number, path = 'attention'): void {
  if (Array.isArray(options.dilation) && options.dilation.length !== heads) {
    throw new ConfigError(
      `${path}.dilation`,
      `dilation lists ${options.dilation.length} value(s) [${options.dilation.join(', ')}] but the model has ${heads} heads; give one per head or a single number`,
    );
  }
}

/** The row of a block's first slot: slots hold consecutive class members, d rows apart. */
function firstRow(rows: number[], d: number): number {
  const s = rows.findIndex((i) => i >= 0);
  return rows[s] - s * d;
}

/** Query rows per block: about the window (so a block's keys are ~3 blocks), 16..128. */
const blockRows = (w: number) => Math.min(128, Math.max(16, w));

/**
 * The plans of one dilation value: the window plan over non-global rows (blocked per residue
 * class) and, when some query rows are global, one plan for those rows against all keys.
 */
export function longformerPlans(Lq: number, Lk: number, offset: number, causal: boolean, w: number, d: number, globals: number[]): BlockPlan[] {
  const G = [...new Set(globals)].filter((g) => g < Lk).sort((a, b) => a - b);
  const isGlobal = new Set(G);
  const inWindow = (p: number, j: number) => Math.abs(p - j) <= w * d && (((p - j) % d) + d) % d === 0;
  const plans: BlockPlan[] = [];

  // Window rows, grouped by residue class of p_i = i + offset, blocked within the class.
  const bq = blockRows(w);
  const Kw = causal ? bq + w : bq + 2 * w; // window key slots per block
  const K = Kw + G.length;
  const blocks: number[][] = [];
  for (let r = 0; r < d; r++) {
    const rows: number[] = [];
    for (let i = 0; i < Lq; i++) if ((((i + offset) % d) + d) % d === r) rows.push(i);
    // Blocks are bq consecutive class members; global rows leave their slot empty (-1).
    for (let s = 0; s < rows.length; s += bq) blocks.push(rows.slice(s, s + bq).map((i) => (isGlobal.has(i + offset) ? -1 : i)));
  }
  if (blocks.some((rows) => rows.some((i) => i >= 0))) {
    const plan = emptyPlan(blocks.length, bq, K);
    blocks.forEach((rows, n) => {
      if (rows.every((i) => i < 0)) return;
      rows.forEach((i, s) => (plan.qIdx[n * bq + s] = i));
      // The first class member of the block (global or not) anchors its window keys.
      const first = firstRow(rows, d) + offset;
      // Window keys first - w·d, first - (w-1)·d, ... (same residue class), then the globals.
      for (let t = 0; t < Kw; t++) {
        const j = first - w * d + t * d;
        if (j >= 0 && j < Lk) plan.kIdx[n * K + t] = j;
      }
      G.forEach((g, t) => (plan.kIdx[n * K + Kw + t] = g));
      rows.forEach((i, s) => {
        if (i < 0) return;
        const p = i + offset;
        for (let t = 0; t < K; t++) {
          const j = plan.kIdx[n * K + t];
          if (j < 0 || (causal && j > p)) continue;
          // A global key already inside the window is counted once, in its window slot.
          const ok = t < Kw ? inWindow(p, j) : !inWindow(p, j);
          if (ok) plan.allowed[(n * bq + s) * K + t] = 1;
        }
      });
    });
    plans.push(plan);
  }

  // Global query rows attend to every key (causal: to every earlier key).
  const globalRows = G.map((g) => g - offset).filter((i) => i >= 0 && i < Lq);
  if (globalRows.length) {
    const plan = emptyPlan(1, globalRows.length, Lk);
    globalRows.forEach((i, s) => {
      plan.qIdx[s] = i;
      for (let j = 0; j < Lk; j++) if (!causal || j <= i + offset) plan.allowed[s * Lk + j] = 1;
    });
    for (let j = 0; j < Lk; j++) plan.kIdx[j] = j;
    plans.push(plan);
  }
  return plans;
}

export class LongformerAttention implements AttentionKernel {
  readonly supports = longformerCapabilities;

  constructor(readonly options: LongformerOptions) {}

  /** The dilation of each head. */
  private dilations(H: number): number[] {
    const { dilation } = this.options;
    if (!Array.isArray(dilation)) return new Array(H).fill(dilation);
    checkLongformerOptions(this.options, H);
    return dilation;
  }

  /** q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv] -> [B, H, Lq, Dv]. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const perHead = this.dilations(H);
    const groups: HeadGroup[] = [...new Set(perHead)].map((d) => ({
      heads: perHead.flatMap((x, h) => (x === d ? [h] : [])),
      plans: longformerPlans(Lq, Lk, ctx.queryOffset, ctx.causal, this.options.window, d, this.options.globalTokens),
    }));
    return blockSparseAttention(q, k, v, ctx, groups, Math.max(...perHead));
  }
}
