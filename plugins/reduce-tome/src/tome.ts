/**
 * Token Merging (ToMe; Bolya et al. 2023, arXiv:2210.09461) as TinyChart uses it (Zhang et al.
 * 2024, arXiv:2404.16635, §3.2 "Visual Token Merging"): before the wrapped layers, merge the r
 * most similar token pairs by bipartite soft matching; after them, copy every merged token's
 * output back to all the tokens it came from ("unmerge").
 *
 * Notation (TinyChart §3.2 / ToMe §3):
 *   B batch, L length, D model width, r tokens merged per reduction (`r`),
 *   A = the even tokens x_0, x_2, … (|A| = ⌈L/2⌉), B = the odd tokens x_1, x_3, … (|B| = ⌊L/2⌋),
 *   s_t the size of token t (how many original tokens it stands for; 1 unless an enclosing
 *   ToMe span already merged), L' = L − r the reduced length.
 *
 *   k̂_t      = x_t / ‖x_t‖                                    similarity features (cosine)
 *   S_ab      = k̂_a · k̂_b              a ∈ A, b ∈ B           (bipartite scores)
 *   e_a       = max_b S_ab, n_a = argmax_b S_ab                (each A token's best B edge)
 *   merge the r A tokens with the largest e_a into B token n_a; the rest of A stays
 *   x'_b      = Σ_{t→b} s_t x_t / Σ_{t→b} s_t   ("mean", size-weighted — ToMe's merge_wavg)
 *             = Σ_{t→b} x_t                     ("sum")
 *   s'_b      = Σ_{t→b} s_t                                    (size tracking)
 *   output    = [unmerged A in descending e_a order, B in original order]   [B, L − r, D]
 *   restore:  out_t = y_{m(t)}, m(t) the reduced token t went into          [B, L, D]
 *
 * Scores use the token vectors x (the reducer slot sees the hidden states, not the previous
 * layer's keys that ToMe uses). Proportional attention (adding log s to the logits) is left
 * out: see the README. The merge is written as one differentiable scatter: with
 * M[t, j] = 1 iff m(t) = j, x' = Mᵀ(s·x) / Mᵀs; the matching itself (which tokens merge) is
 * discrete and carries no gradient, as in ToMe.
 */
import {
  Module,
  tf,
  z,
  type ForwardContext,
  type Reduction,
  type SlotCapabilities,
  type Tensor,
  type TokenReducer,
} from '@weft/core';

/**
 * ctx.scratch key holding the token sizes s [B, L'] (float32) of the reduced sequence, for the
 * layers inside the span and for a nested ToMe span (which starts from these sizes).
 */
export const TOME_SIZES = 'weft.reduce-tome.sizes';

export const TomeOptions = z.object({
  /** r: tokens merged away by this reduction (clamped to ⌊L/2⌋, as ToMe does). */
  r: z.number().int({ message: 'r (tokens merged) must be a whole number' }).min(0, { message: 'r (tokens merged) must be >= 0; 0 disables merging' }).default(4),
  /** How merged tokens combine: size-weighted mean (ToMe's default) or plain sum. */
  mode: z.enum(['mean', 'sum']).default('mean'),
});
export type TomeOptions = z.output<typeof TomeOptions>;

/** Merging pairs a token with later ones: refused in causal models. */
export const tomeCapabilities: SlotCapabilities['reducer'] = { causal: false };

/** The discrete matching: for each batch row, m(t) for every token and the reduced tokens' representatives. */
export interface TomeMatching {
  /** [B][L]: index in the reduced sequence that token t goes to. */
  target: number[][];
  /** [B][L']: an original token standing for each reduced token (its position, segment id). */
  representative: number[][];
}

/**
 * Bipartite soft matching (ToMe Alg. 1 without class token). `scores` [B, |A|, |B|] are the
 * (masked) cosine scores; returns the merge map for r merges.
 */
export function bipartiteMatching(scores: number[][][], L: number, r: number): TomeMatching {
  const nA = Math.ceil(L / 2), nB = Math.floor(L / 2);
  const target: number[][] = [], representative: number[][] = [];
  for (const S of scores) {
    const best = S.map((row) => row.reduce((bi, v, j) => (v > row[bi] ? j : bi), 0)); // n_a
    const edge = S.map((row, a) => row[best[a]]); // e_a
    const order = Array.from({ length: nA }, (_, a) => a).sort((p, q) => edge[q] - edge[p] || p - q); // descending e_a
    const merged = order.slice(0, r), unmerged = order.slice(r);
    const nU = nA - r;
    const t: number[] = new Array(L);
    const rep: number[] = [];
    unmerged.forEach((a, p) => {
      t[2 * a] = p;
      rep.push(2 * a);
    });
    for (let b = 0; b < nB; b++) {
      t[2 * b + 1] = nU + b;
      rep.push(2 * b + 1);
    }
    for (const a of merged) t[2 * a] = nU + best[a];
    target.push(t);
    representative.push(rep);
  }
  return { target, representative };
}

/** out[b, i] = t[b, index[b][i]] for t [B, N, ...] (a flat gather: batchDims gathers fail on wasm). */
function gatherRows(t: Tensor, index: number[][]): Tensor {
  return tf.tidy(() => {
    const [B, N, ...rest] = t.shape;
    const flat = tf.reshape(t, [B * N, ...rest]); // [B·N, ...]
    const idx = tf.tensor1d(index.flatMap((row, b) => row.map((i) => b * N + i)), 'int32');
    return tf.reshape(tf.gather(flat, idx), [B, index[0].length, ...rest]); // [B, N', ...]
  });
}

export class TomeReducer extends Module implements TokenReducer {
  constructor(readonly options: TomeOptions) {
    super();
  }

  /** x [B, L, D] -> [B, L − r, D]; restore(y) copies each reduced token back to its sources. */
  reduce(x: Tensor, ctx: ForwardContext): Reduction {
    const [B, L] = x.shape as [number, number, number];
    const r = Math.min(this.options.r, Math.floor(L / 2));
    if (r === 0) return { x, ctx, restore: (y: Tensor) => y }; // nothing merged: ToMe's do_nothing
    const Lp = L - r; // L'
    const inSizes = ctx.scratch.get(TOME_SIZES) as Tensor | undefined;
    const sizesIn = inSizes && inSizes.shape[0] === B && inSizes.shape[1] === L ? inSizes : undefined;

    const scores = tf.tidy(() => {
      const k = tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-12)); // [B, L, D] k̂
      const idxA = tf.range(0, L, 2, 'int32'), idxB = tf.range(1, L, 2, 'int32');
      let S = tf.matMul(tf.gather(k, idxA, 1), tf.gather(k, idxB, 1), false, true); // [B, |A|, |B|]
      // Real tokens only pair with real tokens of their own segment.
      let allowed: Tensor | undefined;
      if (ctx.paddingMask) allowed = tf.mul(tf.expandDims(tf.gather(ctx.paddingMask, idxA, 1), 2), tf.expandDims(tf.gather(ctx.paddingMask, idxB, 1), 1)); // [B, |A|, |B|]
      if (ctx.segmentIds) {
        const same = tf.cast(tf.equal(tf.expandDims(tf.gather(ctx.segmentIds, idxA, 1), 2), tf.expandDims(tf.gather(ctx.segmentIds, idxB, 1), 1)), 'float32');
        allowed = allowed ? tf.mul(allowed, same) : same;
      }
      if (allowed) S = tf.add(S, tf.mul(tf.sub(1, allowed), -1e9));
      return S;
    });
    const matching = bipartiteMatching(L > 1 ? (scores.arraySync() as number[][][]) : Array.from({ length: B }, () => [[]]), L, r);
    scores.dispose();

    const out = tf.tidy(() => {
      const target = tf.tensor2d(matching.target, [B, L], 'int32'); // m(t)
      const M = tf.oneHot(target, Lp); // [B, L, L'] M[t, j] = 1 iff m(t) = j
      const s = sizesIn ?? tf.ones([B, L]); // [B, L]
      const w = ctx.paddingMask ? tf.mul(s, ctx.paddingMask) : s; // padding carries no weight
      const sizes = tf.squeeze(tf.matMul(M, tf.expandDims(w, 2), true, false), [2]); // [B, L'] s'
      let merged: Tensor;
      if (this.options.mode === 'sum') {
        merged = tf.matMul(M, ctx.paddingMask ? tf.mul(x, tf.expandDims(ctx.paddingMask, 2)) : x, true, false); // [B, L', D]
      } else {
        const num = tf.matMul(M, tf.mul(x, tf.expandDims(w, 2)), true, false); // [B, L', D] Σ s·x
        merged = tf.div(num, tf.expandDims(tf.maximum(sizes, 1e-12), 2)); // [B, L', D]
      }
      const positions = gatherRows(ctx.positions, matching.representative); // [B, L']
      const segmentIds = ctx.segmentIds ? gatherRows(ctx.segmentIds, matching.representative) : undefined; // [B, L']
      const paddingMask = ctx.paddingMask ? tf.cast(tf.greater(sizes, 0), 'float32') : undefined; // [B, L']
      return { merged, sizes, positions, segmentIds, paddingMask };
    });
    const scratch = new Map(ctx.scratch);
    scratch.set(TOME_SIZES, out.sizes);
    return {
      x: out.merged,
      ctx: { ...ctx, positions: out.positions, segmentIds: out.segmentIds, paddingMask: out.paddingMask, scratch },
      restore: (y: Tensor) => gatherRows(y, matching.target), // [B, L, D] out_t = y_{m(t)}
    };
  }
}
