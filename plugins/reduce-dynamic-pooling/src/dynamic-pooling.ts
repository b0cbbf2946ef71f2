/**
 * Dynamic token pooling (Nawrot, Chorowski, Łańcucki, Ponti, *Efficient Transformers with
 * Dynamic Token Pooling*, arXiv:2211.09761): a boundary predictor cuts the sequence into
 * variable-length segments, each segment is mean-pooled into one vector, the shortened layers
 * run on the segments, and every token receives the output of the last segment it has seen
 * completed.
 *
 * Notation (§2–3 of the paper):
 *   B batch, L length, D model width, S most segments in a row of the batch,
 *   x the activations before pooling [B, L, D],
 *   p_t = sigmoid(MLP(x_t)) the boundary probability of token t (§3.1, Eq. 1),
 *   b_t ∈ {0, 1}: token t ends a segment. Training draws b_t with a hard Gumbel-sigmoid
 *     b_t = [σ((logit_t + log u − log(1 − u)) / τ) > ½], u ~ U(0, 1) from ctx.rng, with the
 *     soft value's gradient (straight-through, §3.1); inference uses b_t = [p_t > threshold].
 *   seg(t) = Σ_{u<t} b_u the segment token t belongs to; done(t) = Σ_{u≤t} b_u the number of
 *     segments completed at t.
 *   x'_s = mean of x_t over seg(t) = s (§3.2, "average pooling within a segment").
 *   out_t = x_t + y'_{done(t) − 1}  (the upsampling of §3.2 with the shift that keeps it
 *     causal: token t only sees segments that ended at or before t; done(t) = 0 gets 0).
 *   Prior (§3.1, Eq. 2): the paper's Binomial(L, prior) log-likelihood of the boundary count
 *     k = Σ_t b_t, here in its Gaussian (de Moivre–Laplace) form
 *     (k − L·prior)² / (2·L·prior·(1 − prior)), divided by L, added as an auxiliary loss.
 *
 * The pooling matrix M[t, s] = relu(1 − |c_t − s|) with c_t = Σ_{u<t} b_u is one-hot for hard
 * boundaries and piecewise linear in b, so the straight-through gradient reaches the predictor
 * through the pooling as well as through the prior.
 *
 * Rows get different segment counts: the shortened batch is padded to S and ctx.paddingMask
 * marks the padding segments (they come after every real segment, so causal layers never see
 * them either). A change of ctx.segmentIds (packed sequences) always forces a boundary.
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
import { activate, Linear } from '@weft/nn';

export const DynamicPoolingOptions = z.object({
  /** Expected boundary rate (the Binomial prior's p); 1/prior is the expected shortening. */
  prior: z
    .number()
    .gt(0, { message: 'the boundary prior must be a rate strictly between 0 and 1 (e.g. 0.2 for ~5x shortening)' })
    .lt(1, { message: 'the boundary prior must be a rate strictly between 0 and 1 (e.g. 0.2 for ~5x shortening)' })
    .default(0.2),
  /** Weight of the prior's auxiliary loss (0 turns it off). */
  priorWeight: z.number().min(0, { message: 'priorWeight must be >= 0 (0 turns the prior loss off); use 1' }).default(1),
  /** Gumbel-sigmoid temperature τ used in training. */
  temperature: z.number().gt(0, { message: 'the Gumbel-sigmoid temperature must be > 0; use 0.5 or 1' }).default(0.5),
  /** Inference: token t ends a segment when p_t > threshold. */
  threshold: z
    .number()
    .gt(0, { message: 'the boundary threshold must lie strictly between 0 and 1; use 0.5' })
    .lt(1, { message: 'the boundary threshold must lie strictly between 0 and 1; use 0.5' })
    .default(0.5),
  /** Hidden width of the boundary predictor's MLP (default: dModel). */
  predictorWidth: z.number().int({ message: 'predictorWidth must be a whole number (e.g. 32)' }).positive({ message: 'predictorWidth must be a positive width (e.g. 32)' }).optional(),
  /** Add the pre-pooling activations back after upsampling (the paper: true). */
  residual: z.boolean().default(true),
});
export type DynamicPoolingOptions = z.output<typeof DynamicPoolingOptions>;

/** Boundaries come from tokens ≤ t and tokens see only completed segments: causal. */
export const dynamicPoolingCapabilities: SlotCapabilities['reducer'] = { causal: true };

/** Per-row segment bookkeeping, computed on the host from the hard boundaries. */
interface Segments {
  /** S, the most segments in any row. */
  S: number;
  /** [B·S] index (in 0..L−1) of each segment's first / last token (padding segments: L−1). */
  first: Int32Array;
  last: Int32Array;
  /** [B·S] 1 for a real segment, 0 for padding. */
  valid: Float32Array;
  /** [B·L] done(t) − 1, clamped at 0, offset by row·S (an index into the flattened [B·S]). */
  source: Int32Array;
  /** [B·L] 1 when done(t) ≥ 1 (token t has a completed segment to read). */
  has: Float32Array;
}

function segmentsOf(hard: Float32Array, B: number, L: number): Segments {
  const counts: number[] = [];
  for (let r = 0; r < B; r++) {
    let before = 0;
    for (let t = 0; t < L - 1; t++) before += hard[r * L + t];
    counts.push(before + 1); // seg(L−1) + 1
  }
  const S = Math.max(...counts);
  const first = new Int32Array(B * S).fill(L - 1);
  const last = new Int32Array(B * S).fill(L - 1);
  const valid = new Float32Array(B * S);
  const source = new Int32Array(B * L);
  const has = new Float32Array(B * L);
  for (let r = 0; r < B; r++) {
    let seg = 0;
    for (let t = 0; t < L; t++) {
      if (t === 0 || hard[r * L + t - 1] === 1) first[r * S + seg] = t;
      valid[r * S + seg] = 1;
      last[r * S + seg] = t;
      const done = seg + hard[r * L + t];
      source[r * L + t] = r * S + Math.max(done - 1, 0);
      has[r * L + t] = done >= 1 ? 1 : 0;
      seg = done;
    }
  }
  return { S, first, last, valid, source, has };
}

export class DynamicPoolingReducer extends Module implements TokenReducer {
  /** Boundary predictor (§3.1): Linear(D → W), GELU, Linear(W → 1). */
  readonly hidden: Linear;
  readonly out: Linear;

  constructor(readonly options: DynamicPoolingOptions, readonly dims: Pick<ModelDims, 'dModel'>, rng: Rng) {
    super();
    const D = dims.dModel;
    const W = options.predictorWidth ?? D;
    this.hidden = this.addModule('hidden', new Linear(D, W, rng.fork('hidden')));
    this.out = this.addModule('out', new Linear(W, 1, rng.fork('out')));
  }

  /** Boundary logits, [B, L, D] -> [B, L]. */
  logits(x: Tensor): Tensor {
    return tf.tidy(() => tf.squeeze(this.out.forward(activate(this.hidden.forward(x), 'gelu')), [2])); // [B, L]
  }

  reduce(x: Tensor, ctx: ForwardContext): Reduction {
    const [B, L, D] = x.shape as [number, number, number];
    const { prior, priorWeight, temperature, threshold, residual } = this.options;
    const forced = ctx.segmentIds ? (ctx.segmentIds.arraySync() as number[][]) : null;

    let seg!: Segments;
    const pooled = tf.tidy(() => {
      const logits = this.logits(x); // [B, L]
      let soft: Tensor; // σ of the (noisy) logits, [B, L]
      let cut: number;
      if (ctx.training) {
        const u = ctx.rng.fork(`dynamic-pooling.${ctx.layerIndex}`).uniformTensor([B, L], 1e-6, 1 - 1e-6);
        soft = tf.sigmoid(tf.div(tf.add(logits, tf.sub(tf.log(u), tf.log(tf.sub(1, u)))), temperature)); // Gumbel-sigmoid
        cut = 0.5;
      } else {
        soft = tf.sigmoid(logits);
        cut = threshold;
      }
      const softValues = soft.dataSync();
      const hardValues = new Float32Array(B * L);
      for (let i = 0; i < B * L; i++) hardValues[i] = softValues[i] > cut ? 1 : 0;
      if (forced) {
        for (let r = 0; r < B; r++) for (let t = 0; t < L - 1; t++) if (forced[r][t] !== forced[r][t + 1]) hardValues[r * L + t] = 1;
      }
      const hard = tf.tensor2d(hardValues, [B, L]);
      // Straight-through: the value of `hard`, the gradient of `soft` (a host copy of soft has no gradient).
      const b = ctx.training ? tf.add(hard, tf.sub(soft, tf.tensor2d(softValues, [B, L]))) : hard; // [B, L]
      seg = segmentsOf(hardValues, B, L);
      const S = seg.S;

      // Pooling matrix M[b, t, s] = relu(1 − |c_t − s|), c = exclusive cumsum of b (§3.2).
      const c = tf.cumsum(b, 1, true); // [B, L]
      const M = tf.relu(tf.sub(1, tf.abs(tf.sub(tf.expandDims(c, 2), tf.reshape(tf.range(0, S), [1, 1, S]))))); // [B, L, S]
      const sums = tf.matMul(M, x, true, false); // [B, S, D]
      const counts = tf.sum(M, 1); // [B, S]
      const xs = tf.div(sums, tf.expandDims(tf.maximum(counts, tf.onesLike(counts)), 2)); // [B, S, D] segment means

      if (ctx.training && priorWeight > 0 && ctx.auxLosses) {
        const k = tf.sum(b, 1); // [B] boundary counts
        const mean = L * prior;
        const nll = tf.div(tf.square(tf.sub(k, mean)), 2 * L * prior * (1 - prior)); // [B], Eq. 2 (Gaussian form)
        ctx.auxLosses.add('dynamic-pooling.prior', tf.div(tf.mean(nll), L), priorWeight);
      }

      const rows = tf.reshape(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(L, 'int32')), [B, 1]); // [B, 1]
      const at = (idx: Int32Array) => tf.reshape(tf.add(rows, tf.tensor2d(idx, [B, S], 'int32')), [B * S]); // flat indices
      const pick = (t: Tensor) => tf.reshape(tf.gather(tf.reshape(t, [B * L]), at(seg.last)), [B, S]);
      const positions = pick(ctx.positions); // [B, S] position of each segment's last token
      const segmentIds = ctx.segmentIds ? pick(ctx.segmentIds) : undefined; // [B, S]
      let paddingMask: Tensor | undefined;
      const padded = seg.valid.some((v) => v === 0);
      if (padded || ctx.paddingMask) {
        paddingMask = tf.tensor2d(seg.valid, [B, S]); // [B, S]
        if (ctx.paddingMask) {
          const firstMask = tf.reshape(tf.gather(tf.reshape(ctx.paddingMask, [B * L]), at(seg.first)), [B, S]);
          paddingMask = tf.mul(paddingMask, firstMask);
        }
      }
      return { xs, positions, segmentIds, paddingMask } as { xs: Tensor; positions: Tensor; segmentIds?: Tensor; paddingMask?: Tensor };
    });
    const reducedCtx: ForwardContext = { ...ctx, positions: pooled.positions, segmentIds: pooled.segmentIds, paddingMask: pooled.paddingMask };
    return {
      x: pooled.xs,
      ctx: reducedCtx,
      restore: (y: Tensor) =>
        tf.tidy(() => {
          // Token t reads the output of segment done(t) − 1, the last one completed at t.
          const up = tf.reshape(tf.gather(tf.reshape(y, [B * seg.S, D]), tf.tensor1d(seg.source, 'int32')), [B, L, D]); // [B, L, D]
          const has = tf.tensor3d(seg.has, [B, L, 1]);
          const read = tf.mul(up, has); // [B, L, D], 0 before the first boundary
          // With the residual (the paper) x is added back; without it, tokens that have no
          // completed segment yet pass x through unchanged.
          return residual ? tf.add(x, read) : tf.add(read, tf.mul(x, tf.sub(1, has)));
        }),
    };
  }
}
