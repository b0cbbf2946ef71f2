/**
 * Funnel-Transformer (Dai, Lai, Yang, Le, arXiv:2006.03236): pool the hidden sequence by a
 * stride between blocks of the encoder, and for token-level outputs upsample it back and add
 * the unpooled activations (the paper's decoder, §2.2).
 *
 * Notation (the paper's §2.2):
 *   B batch, L length, D model width, S stride (`stride`, the paper uses 2),
 *   L' = ceil(L / S) pooled length, h the full-length activations [B, L, D] (the "first block"
 *   output that the decoder adds back), h' the pooled sequence [B, L', D].
 *
 *   h'_j  = mean(h_{jS}, ..., h_{jS+S−1})                     (Eq. 4 with Pooling = mean, window = stride)
 *   ... the `span` layers run on h' ...
 *   out_t = h''_{floor(t / S)} + h_t                            (§2.2: up-sampling by repetition + residual)
 *
 * The last window of an L that is not a multiple of S averages the tokens it has (PyTorch's
 * avg_pool1d with ceil_mode=True). Padding mask: a pooled token is real only when every token
 * of its window is (the reference code's min-pooling of the mask); positions and segment ids
 * are stride-sampled (the first token of each window, the reference code's `stride_pool`).
 * Pooling mixes future tokens into the past, so the reducer is bidirectional only.
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

export const FunnelOptions = z.object({
  /** The pooling stride (and window) S; the paper pools with stride 2. */
  stride: z
    .number()
    .int({ message: 'the pooling stride must be a whole number of tokens (the paper uses 2)' })
    .min(2, { message: 'the pooling stride must be at least 2 (1 would not shorten); the paper uses 2' })
    .default(2),
});
export type FunnelOptions = z.output<typeof FunnelOptions>;

/** Mean pooling mixes later tokens into earlier ones: refused in causal models. */
export const funnelCapabilities: SlotCapabilities['reducer'] = { causal: false };

export class FunnelReducer extends Module implements TokenReducer {
  constructor(readonly options: FunnelOptions) {
    super();
  }

  /** h [B, L, D] -> h' [B, ceil(L/S), D]; restore(y) = repeat(y, S) + h [B, L, D]. */
  reduce(x: Tensor, ctx: ForwardContext): Reduction {
    const S = this.options.stride;
    const [B, L, D] = x.shape as [number, number, number];
    const Lp = Math.ceil(L / S); // L'
    const out = tf.tidy(() => {
      const padded = Lp * S > L ? tf.concat([x, tf.zeros([B, Lp * S - L, D])], 1) : x; // [B, L'·S, D]
      const sums = tf.sum(tf.reshape(padded, [B, Lp, S, D]), 2); // [B, L', D]
      const counts = Array.from({ length: Lp }, (_, j) => Math.min(S, L - j * S)); // tokens in each window
      const pooled = tf.div(sums, tf.tensor3d(counts, [1, Lp, 1])); // [B, L', D]
      const first = tf.range(0, L, S, 'int32'); // [L'] first token of each window
      const positions = tf.gather(ctx.positions, first, 1); // [B, L']
      const segmentIds = ctx.segmentIds ? tf.gather(ctx.segmentIds, first, 1) : undefined; // [B, L']
      let paddingMask: Tensor | undefined;
      if (ctx.paddingMask) {
        const m = Lp * S > L ? tf.concat([ctx.paddingMask, tf.ones([B, Lp * S - L])], 1) : ctx.paddingMask; // [B, L'·S]
        paddingMask = tf.min(tf.reshape(m, [B, Lp, S]), 2); // [B, L']
      }
      return { pooled, positions, segmentIds, paddingMask };
    });
    return {
      x: out.pooled,
      ctx: { ...ctx, positions: out.positions, segmentIds: out.segmentIds, paddingMask: out.paddingMask },
      restore: (y: Tensor) =>
        tf.tidy(() => {
          const idx = tf.tensor1d(Array.from({ length: L }, (_, t) => Math.floor(t / S)), 'int32'); // [L]
          return tf.add(x, tf.gather(y, idx, 1)); // [B, L, D]: repetition + residual
        }),
    };
  }
}
