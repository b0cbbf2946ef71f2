/**
 * Random-LTD (Yao et al., *Random-LTD: Random and Layerwise Token Dropping Brings Efficient
 * Training for Large-Scale Transformers*, arXiv:2211.11586): during training, a middle layer
 * processes only a random subset of the tokens; the others skip it unchanged.
 *
 * Notation (the paper's §3):
 *   B batch, L length (n), D model width, r kept length (the paper's "reserved length"),
 *   I_b ⊂ {0..L−1} the kept indices of sequence b (|I_b| = r, drawn uniformly without
 *   replacement, then sorted so the kept tokens keep their original order), x [B, L, D].
 *
 *   x_kept = x[b, I_b]                             gather      [B, r, D]
 *   y      = Layer(x_kept)                         the `span` layers run on r tokens
 *   out[b, t] = y[b, rank_b(t)]  if t ∈ I_b        combine     [B, L, D]
 *             = x[b, t]          otherwise         (dropped tokens bypass the layer, Fig. 1)
 *
 * Positions, segment ids and the padding mask are gathered with the same indices, so a
 * positional encoding sees the kept tokens' true positions; because I_b is sorted, index order
 * equals position order and causal masking among kept tokens is exactly causal masking by
 * position. At evaluation (ctx.training false) every token is kept (the paper's inference).
 * Layerwise: each random-ltd reducer draws its own subset (configure one span-1 reducer per
 * middle layer; the paper leaves the first and last layers at full length).
 */
import { Module, tf, z, type ForwardContext, type Reduction, type Rng, type SlotCapabilities, type Tensor, type TokenReducer } from '@weft/core';
import type { RandomLtdController } from './controller.js';

export const RandomLtdOptions = z.object({
  /**
   * Kept length r while training: a token count (a whole number >= 1) or a fraction of L in
   * (0, 1). A schedule (trainer kind 'random-ltd-schedule') overrides it step by step.
   */
  keep: z
    .number()
    .positive({ message: 'keep must be a token count (1, 2, ...) or a fraction of the length in (0, 1), e.g. 0.5' })
    .refine((v) => v < 1 || Number.isInteger(v), {
      message: 'keep must be a whole token count when >= 1, or a fraction of the length in (0, 1), e.g. 0.5 or 128',
    })
    .default(0.5),
});
export type RandomLtdOptions = z.output<typeof RandomLtdOptions>;

/** Dropped tokens bypass the layer and the kept ones stay in order: causal masking still holds. */
export const randomLtdCapabilities: SlotCapabilities['reducer'] = { causal: true };

/** r for a sequence of length L: the schedule's value if one is set, else the `keep` option. */
export function keptLength(keep: number, L: number): number {
  const r = keep < 1 ? Math.round(keep * L) : keep;
  return Math.min(L, Math.max(1, r));
}

/** Sorted uniform subsets without replacement, one per sequence: [B][r]. */
export function sampleKeptIndices(rng: Rng, B: number, L: number, r: number): number[][] {
  return Array.from({ length: B }, () =>
    rng
      .shuffle(Array.from({ length: L }, (_, i) => i))
      .slice(0, r)
      .sort((a, b) => a - b),
  );
}

/** A reduction that also reports which tokens were kept (sorted, per sequence). */
export interface RandomLtdReduction extends Reduction {
  /** [B][r] kept token indices; undefined when every token is kept (evaluation, r >= L). */
  keptIndices?: number[][];
}

export class RandomLtdReducer extends Module implements TokenReducer {
  /**
   * @param label distinguishes this reducer's random stream from the others' (its config path).
   * @param controller the kept length shared with a schedule (one per model).
   */
  constructor(readonly options: RandomLtdOptions, readonly controller: RandomLtdController, readonly label: string) {
    super();
  }

  reduce(x: Tensor, ctx: ForwardContext): RandomLtdReduction {
    const [B, L, D] = x.shape as [number, number, number];
    const r = keptLength(this.controller.keep ?? this.options.keep, L);
    if (!ctx.training || r >= L) return { x, ctx, restore: (y) => y }; // keep every token
    const kept = sampleKeptIndices(ctx.rng.fork(`random-ltd:${this.label}`), B, L, r);
    // combine map: out[b, t] = concat(x, y)[map[b·L + t]] over the flattened [B·L + B·r] rows.
    const map = new Int32Array(B * L);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) map[b * L + t] = b * L + t;
      kept[b].forEach((t, j) => (map[b * L + t] = B * L + b * r + j));
    }
    const out = tf.tidy(() => {
      const flatIdx = tf.tensor1d(kept.flatMap((row, b) => row.map((t) => b * L + t)), 'int32'); // [B·r]
      const take = (t: Tensor, width?: number) =>
        width === undefined
          ? tf.reshape(tf.gather(tf.reshape(t, [B * L]), flatIdx), [B, r]) // [B, r]
          : tf.reshape(tf.gather(tf.reshape(t, [B * L, width]), flatIdx), [B, r, width]); // [B, r, D]
      return {
        xk: take(x, D),
        positions: take(ctx.positions),
        segmentIds: ctx.segmentIds ? take(ctx.segmentIds) : undefined,
        paddingMask: ctx.paddingMask ? take(ctx.paddingMask) : undefined,
      };
    });
    return {
      x: out.xk,
      ctx: { ...ctx, positions: out.positions, segmentIds: out.segmentIds, paddingMask: out.paddingMask },
      restore: (y: Tensor) =>
        tf.tidy(() => {
          const rows = tf.concat([tf.reshape(x, [B * L, D]), tf.reshape(y, [B * r, D])], 0); // [B·L + B·r, D]
          return tf.reshape(tf.gather(rows, tf.tensor1d(map, 'int32')), [B, L, D]); // [B, L, D]
        }),
      keptIndices: kept,
    };
  }
}
