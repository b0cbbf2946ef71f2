/**
 * Hourglass (Nawrot et al., *Hierarchical Transformers Are More Efficient Language Models*,
 * arXiv:2110.13711): shorten the sequence by a factor k for the middle layers, then upsample.
 *
 * Notation (the paper's Algorithm 1 and §3):
 *   B batch, L length, D model width (d_model), k shortening factor (`factor`),
 *   L' = ceil(L / k) shortened length, x the activations before shortening [B, L, D],
 *   x' the shortened sequence [B, L', D].
 *
 *   x'  = Shortening(ShiftRight(x, k − 1), k)            (Alg. 1; §3.1 "shift right by k−1")
 *   ... the `span` shortened layers run on x' ...
 *   out = x + Upsampling(x'', k)                          (Alg. 1, the residual from x)
 *
 * Shortening (§3.2): 'linear' = concatenate k consecutive vectors, Linear(k·D → D);
 *                    'naive'  = average of the k vectors.
 * Upsampling (§3.3): 'linear' = Linear(D → k·D), split into k vectors;
 *                    'repeat' = repeat each shortened vector k times.
 *
 * The shift makes shortened token j summarise x[jk−k+1 .. jk] only, and its upsampled
 * vectors land on positions jk .. jk+k−1, so every output position t depends on inputs ≤ t:
 * the reducer is causal. L is zero-padded at the end to a multiple of k (padding at the end
 * cannot leak into earlier positions) and the padding is cut off again by restore().
 */
import {
  Module,
  tf,
  z,
  type ForwardContext,
  type ModelDims,
  type Reduction,
  type Rng,
  type SlotCapabilities,
  type Tensor,
  type TokenReducer,
} from '@weft/core';
import { Linear } from '@weft/nn';

export const HourglassOptions = z.object({
  /** The shortening factor k (the paper's "shorten factor"). */
  factor: z
    .number()
    .int({ message: 'the shortening factor k must be a whole number of tokens (e.g. 2 or 3)' })
    .min(2, { message: 'the shortening factor k must be at least 2 (k = 1 does not shorten); use 2, 3 or 4' })
    .default(2),
  /** How k vectors become one (§3.2): 'linear' (the paper's best) or 'naive' (mean). */
  shortening: z.enum(['linear', 'naive']).default('linear'),
  /** How one vector becomes k (§3.3): 'linear' (the paper's best) or 'repeat'. */
  upsampling: z.enum(['linear', 'repeat']).default('linear'),
});
export type HourglassOptions = z.output<typeof HourglassOptions>;

/** The shift by k − 1 keeps it causal; it works in bidirectional models too. */
export const hourglassCapabilities: SlotCapabilities['reducer'] = { causal: true };

export class HourglassReducer extends Module implements TokenReducer {
  /** Linear pooling, [k·D, D] (x @ W); only with shortening 'linear'. */
  readonly pool?: Linear;
  /** Linear upsampling, [D, k·D]; only with upsampling 'linear'. */
  readonly upsample?: Linear;

  constructor(readonly options: HourglassOptions, readonly dims: Pick<ModelDims, 'dModel'>, rng: Rng) {
    super();
    const { factor: k } = options;
    const D = dims.dModel;
    if (options.shortening === 'linear') this.pool = this.addModule('pool', new Linear(k * D, D, rng.fork('pool')));
    if (options.upsampling === 'linear') this.upsample = this.addModule('upsample', new Linear(D, k * D, rng.fork('upsample')));
  }

  /** x [B, L, D] -> x' [B, ceil(L/k), D]; restore(y) = x + Upsampling(y) [B, L, D]. */
  reduce(x: Tensor, ctx: ForwardContext): Reduction {
    const k = this.options.factor;
    const [B, L, D] = x.shape as [number, number, number];
    const Ls = Math.ceil(L / k); // L'
    const Lp = Ls * k; // L padded to a multiple of k
    const out = tf.tidy(() => {
      // ShiftRight(x, k − 1) keeps the length L (the last k − 1 tokens fall off), then the
      // end is zero-padded to Lp.
      const parts = [tf.zeros([B, k - 1, D]), tf.slice(x, [0, 0, 0], [B, Math.max(L - (k - 1), 0), D])];
      if (Lp - L > 0) parts.push(tf.zeros([B, Lp - L, D]));
      const shifted = tf.slice(tf.concat(parts, 1), [0, 0, 0], [B, Lp, D]); // [B, Lp, D]
      let xs: Tensor;
      if (this.pool) {
        const grouped = tf.reshape(shifted, [B, Ls, k * D]); // [B, L', k·D]: k consecutive vectors, concatenated
        xs = this.pool.forward(grouped); // [B, L', D]
      } else {
        xs = tf.mean(tf.reshape(shifted, [B, Ls, k, D]), 2); // [B, L', D]
      }
      // Shortened token j stands at original index j·k (the last token it has seen).
      const at = tf.range(0, Lp, k, 'int32'); // [L']
      const positions = tf.floorDiv(tf.gather(ctx.positions, at, 1), tf.scalar(k, 'int32')); // [B, L']
      const segmentIds = ctx.segmentIds ? tf.gather(ctx.segmentIds, at, 1) : undefined; // [B, L']
      const paddingMask = ctx.paddingMask ? tf.gather(ctx.paddingMask, at, 1) : undefined; // [B, L']
      return { xs, positions, segmentIds, paddingMask };
    });
    const reducedCtx: ForwardContext = { ...ctx, positions: out.positions, segmentIds: out.segmentIds, paddingMask: out.paddingMask };
    return {
      x: out.xs,
      ctx: reducedCtx,
      restore: (y: Tensor) =>
        tf.tidy(() => {
          let up: Tensor;
          if (this.upsample) {
            up = tf.reshape(this.upsample.forward(y), [B, Lp, D]); // [B, L'·k, D]: each vector's k·D outputs split in order
          } else {
            up = tf.reshape(tf.tile(tf.expandDims(y, 2), [1, 1, k, 1]), [B, Lp, D]); // [B, L'·k, D]
          }
          return tf.add(x, tf.slice(up, [0, 0, 0], [B, L, D])); // [B, L, D]
        }),
    };
  }
}
