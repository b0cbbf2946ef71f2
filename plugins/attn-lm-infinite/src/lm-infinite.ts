/**
 * LM-Infinite attention — Han et al., "LM-Infinite: Zero-Shot Extreme Length Generalization for
 * Large Language Models" (arXiv 2308.16137), §4: the Λ-shaped attention mask.
 *
 * Notation (paper → code):
 *   n_global   the first tokens every query may attend to (the "global branch")   `nGlobal`
 *   n_local    how far back the "local branch" reaches; the paper sets it to the
 *              pretraining length L_pretrain                                         `nLocal`
 *   p          key-aligned position of query row i: i + queryOffset (decoding: cached − new)
 *
 * Mask (Λ shape), for query position p and key j:
 *   allowed(p, j) = j ≤ p  and  ( j < n_global  or  p − j < n_local )
 * Attention is softmax(scale · q·k + bias | allowed) v, computed block by block
 * (@weft/nn's blockSparseAttention): a block of bq rows sees at most bq − 1 + n_local window keys
 * (only those up to its last row) plus, once some row is n_local past key 0, the n_global first
 * keys (those already in the window counted once), so memory is O(n·(n_local + n_global)):
 * linear in n for fixed n_local.
 *
 * Distance limit (§4): with a rotary positional encoding (`rope`, `rope-scaling`) the kernel
 * also scores every key farther than n_local = L_pretrain as if it were exactly L_pretrain away
 * (./distance-limit.ts). Local keys are always closer than n_local, so only the global branch
 * changes; for n ≤ n_local nothing does.
 */
import {
  ConfigError,
  tf,
  z,
  type AttentionContext,
  type AttentionKernel,
  type PositionalEncoding,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { blockSparseAttention, emptyPlan, type BlockPlan } from '@weft/nn';
import { clampGlobalDistances, hasFarGlobalPairs } from './distance-limit.js';

/** Options: the paper's names and defaults. */
export const LMInfiniteOptions = z.object({
  /** n_global: the first tokens every query sees (the paper: 100 for LLaMA-class models). */
  nGlobal: z
    .number({ message: 'nGlobal must be a whole number of tokens ≥ 0, e.g. 100' })
    .int({ message: 'nGlobal must be a whole number of tokens ≥ 0, e.g. 100' })
    .nonnegative({ message: 'nGlobal must be ≥ 0, e.g. 100' })
    .default(100),
  /** n_local = L_pretrain: the local branch (LLaMA: 2048, Llama-2: 4096). */
  nLocal: z
    .number({ message: 'nLocal must be the pretraining length in tokens, e.g. 2048' })
    .int({ message: 'nLocal must be the pretraining length in tokens, e.g. 2048' })
    .positive({ message: 'nLocal must be ≥ 1 (set it to the pretraining length, e.g. 2048)' })
    .default(2048),
  /**
   * The paper's distance limit: with a rotary encoding (rope, rope-scaling), keys farther than
   * nLocal are scored at distance nLocal. No effect without a rotary encoding.
   */
  distanceLimit: z.boolean({ message: 'distanceLimit must be true (clamp rotary distances at nLocal, the paper) or false (true distances)' }).default(true),
});
export type LMInfiniteOptions = z.output<typeof LMInfiniteOptions>;

/** Causal only (the Λ mask is for decoder LMs). */
export const lmInfiniteCapabilities: SlotCapabilities['attention'] = {
  causal: true,
  bidirectional: false,
  bias: true,
  padding: true,
  segments: true,
  decode: true,
  weights: false,
};

/** A Λ plan: its first G key slots of every block are the global keys 0 .. G − 1 (G may be 0). */
export interface LambdaPlan extends BlockPlan {
  G: number;
}

/**
 * The Λ-mask plans: blocks of bq query rows, each against the global keys and its own window.
 * Block n (query rows first .. last, positions p) needs the window keys max(0, p_first − n_local
 * + 1) .. p_last (causal: no key past the block's last row) and, when p_last ≥ n_local, the
 * G = min(n_global, Lk) global slots (keys farther back than n_local; a global key inside the
 * window is counted once, in its window slot). Blocks with the same window width and G share
 * one plan, so the first blocks (short windows) do not pay for a full n_local + bq − 1 window
 * and n ≤ n_local costs the causal half of dense attention.
 */
export function lmInfinitePlans(Lq: number, Lk: number, offset: number, nGlobal: number, nLocal: number): LambdaPlan[] {
  const bq = Math.min(128, Math.max(16, nLocal));
  const nB = Math.ceil(Lq / bq);
  // Per block: its window [lo, hi) and global slot count; blocks with equal (hi − lo, G) share a plan.
  const shapes = new Map<string, number[]>();
  const blocks = Array.from({ length: nB }, (_, n) => {
    const first = n * bq + offset;
    const pLast = Math.min(Lq, (n + 1) * bq) - 1 + offset;
    const lo = Math.max(0, first - nLocal + 1);
    const hi = Math.max(lo, Math.min(Lk, pLast + 1));
    const G = pLast >= nLocal ? Math.min(nGlobal, Lk) : 0;
    const key = `${hi - lo},${G}`;
    shapes.set(key, [...(shapes.get(key) ?? []), n]);
    return { lo, Kw: hi - lo, G };
  });
  return [...shapes.values()].map((members) => {
    const { Kw, G } = blocks[members[0]];
    const K = Math.max(1, G + Kw);
    const plan: LambdaPlan = { ...emptyPlan(members.length, bq, K), G };
    members.forEach((n, m) => {
      const { lo } = blocks[n];
      for (let t = 0; t < G; t++) plan.kIdx[m * K + t] = t;
      for (let t = 0; t < Kw; t++) plan.kIdx[m * K + G + t] = lo + t;
      for (let s = 0; s < bq && n * bq + s < Lq; s++) {
        const i = n * bq + s;
        const p = i + offset;
        plan.qIdx[m * bq + s] = i;
        for (let t = 0; t < G + Kw; t++) {
          const j = plan.kIdx[m * K + t];
          if (j > p) continue;
          const local = p - j < nLocal;
          if (t < G ? !local : local) plan.allowed[(m * bq + s) * K + t] = 1;
        }
      }
    });
    return plan;
  });
}

export class LMInfiniteAttention implements AttentionKernel {
  readonly supports = lmInfiniteCapabilities;

  /**
   * `rotary`: the layer's rotary encoding, given when the distance limit applies (the provider
   * passes it for `rope` / `rope-scaling` with `distanceLimit: true`); without it, true distances.
   */
  constructor(
    readonly options: Pick<LMInfiniteOptions, 'nGlobal' | 'nLocal'>,
    readonly rotary?: PositionalEncoding,
  ) {}

  private cached?: { key: string; plans: LambdaPlan[] };

  /** The Λ plans for these lengths, kept while the lengths repeat (every layer and step of a run). */
  private plans(Lq: number, Lk: number, offset: number): LambdaPlan[] {
    const key = `${Lq},${Lk},${offset}`;
    if (this.cached?.key !== key) this.cached = { key, plans: lmInfinitePlans(Lq, Lk, offset, this.options.nGlobal, this.options.nLocal) };
    return this.cached.plans;
  }

  /** q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv] -> [B, H, Lq, Dv]. Causal only. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    if (!ctx.causal) throw new ConfigError('attention', 'the LM-Infinite Λ mask is causal only (decoder LMs); use a causal model or a bidirectional kernel (dense, longformer)');
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const plans = this.plans(Lq, Lk, ctx.queryOffset);
    const heads = Array.from({ length: H }, (_, h) => h);
    if (!this.rotary?.rotate || !plans.some(hasFarGlobalPairs)) return blockSparseAttention(q, k, v, ctx, [{ heads, plans }]);
    return tf.tidy(() => {
      const c = clampGlobalDistances(q, k, v, ctx, plans, this.options.nLocal, this.rotary!);
      return blockSparseAttention(c.q, c.k, c.v, c.ctx, [{ heads, plans: c.plans }]);
    });
  }
}
