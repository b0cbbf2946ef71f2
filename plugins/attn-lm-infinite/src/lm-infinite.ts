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
 * (@weft/nn's blockSparseAttention): a block of bq rows sees bq − 1 + n_local window keys plus the n_global
 * first keys (those already in the window counted once), so memory is O(n·(n_local + n_global)):
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

/** The Λ-mask plan: blocks of bq query rows against their local window and the global keys. */
export function lmInfinitePlan(Lq: number, Lk: number, offset: number, nGlobal: number, nLocal: number): BlockPlan {
  const bq = Math.min(128, Math.max(16, nLocal));
  const nB = Math.ceil(Lq / bq);
  const G = Math.min(nGlobal, Lk);
  const Kw = bq - 1 + nLocal; // window slots: first − nLocal + 1 .. first + bq − 1
  const K = G + Kw;
  const plan = emptyPlan(nB, bq, K);
  for (let n = 0; n < nB; n++) {
    const first = n * bq + offset;
    for (let t = 0; t < G; t++) plan.kIdx[n * K + t] = t;
    for (let t = 0; t < Kw; t++) {
      const j = first - nLocal + 1 + t;
      if (j >= 0 && j < Lk) plan.kIdx[n * K + G + t] = j;
    }
    for (let s = 0; s < bq && n * bq + s < Lq; s++) {
      const i = n * bq + s;
      const p = i + offset;
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j < 0 || j > p) continue;
        const local = p - j < nLocal;
        // A global key inside the local window is counted once, in its window slot.
        if (t < G ? !local : local) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    }
  }
  return plan;
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

  /** q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh], v [B, Hkv, Lk, Dv] -> [B, H, Lq, Dv]. Causal only. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    if (!ctx.causal) throw new ConfigError('attention', 'the LM-Infinite Λ mask is causal only (decoder LMs); use a causal model or a bidirectional kernel (dense, longformer)');
    const [, H, Lq] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    const { nGlobal, nLocal } = this.options;
    const plan = lmInfinitePlan(Lq, Lk, ctx.queryOffset, nGlobal, nLocal);
    const heads = Array.from({ length: H }, (_, h) => h);
    const G = Math.min(nGlobal, Lk);
    if (!this.rotary?.rotate || !hasFarGlobalPairs(plan, G)) return blockSparseAttention(q, k, v, ctx, [{ heads, plans: [plan] }]);
    return tf.tidy(() => {
      const c = clampGlobalDistances(q, k, v, ctx, plan, G, nLocal, this.rotary!);
      return blockSparseAttention(c.q, c.k, c.v, c.ctx, [{ heads, plans: [c.plan] }]);
    });
  }
}
