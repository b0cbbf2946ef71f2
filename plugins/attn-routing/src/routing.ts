/**
 * Routing attention — Roy, Saffar, Vaswani & Grangier, "Efficient Content-Based Sparse Attention
 * with Routing Transformers" (arXiv 2003.05997), §4.
 *
 * Notation (paper → code):
 *   C      number of clusters (k-means centroids) per routing head           `clusters`
 *   μ      the centroids, [Hr, C, Dh], a non-trainable buffer                `centroids`
 *   λ      EMA decay of the centroid update (§4.1)                            `decay`
 *   w      tokens per cluster, w = L / C (balanced routing)
 *   Hr     heads that route (the rest use local attention)                    `routingHeads`
 *   ŵ      one-sided window of the local heads                                `window`
 *   Q̂, K̂   L2-normalised queries and keys (the routing space, §4.1)
 *
 * Routing heads (eq. 10–11): with shared QK (the paper's setting, `sharedQK`), keys are the
 * queries, token i is routed by Q̂_i and the clusters partition the sequence. Query i attends to
 * the keys j of its own cluster with j ≤ i (causal):
 *   X'_i = Σ_{j ∈ cluster(i), j ≤ i} softmax_j(scale · Q_i K_jᵀ) V_j
 * Balanced assignment: every centroid takes exactly w = L/C tokens (so blocks are equal-sized).
 * Pairs (token, centroid) are taken greedily by descending similarity Q̂_i · μ_c while the
 * token is free and the centroid has room: a balanced nearest-centroid partition (the paper
 * takes each centroid's top-w independently, so a token may land in 0 or several clusters; a
 * partition keeps every row in exactly one block, which the block-sparse engine requires).
 * Without shared QK, queries and keys are partitioned separately (a row whose cluster has no
 * earlier key outputs 0, as a fully masked dense row does).
 *
 * Centroid update (§4.1, mini-batch k-means by EMA), in training only, after routing:
 *   μ_c ← λ μ_c + (1 − λ) · mean{ x̂ : x̂ assigned to c }   (x̂ over batch, queries and keys)
 * The forward uses the centroids from before the update. Local heads: sliding window, key j
 * visible to query i iff |i − j| ≤ ŵ (and j ≤ i when causal).
 * Both patterns run through @weft/nn's blockSparseAttention: O(L·(w + ŵ)) scores, no L×L.
 */
import {
  ConfigError,
  Module,
  ShapeError,
  tf,
  z,
  type AttentionContext,
  type AttentionKernel,
  type Rng,
  type SlotCapabilities,
  type Tensor,
} from '@weft/core';
import { blockSparseAttention, emptyPlan, type BlockPlan, type HeadGroup } from '@weft/nn';

/** Options: the paper's hyper-parameters. */
export const RoutingOptions = z.object({
  /** Number of k-means clusters C per routing head (the paper uses about √L). */
  clusters: z
    .number({ message: 'clusters must be a whole number ≥ 1, e.g. 4' })
    .int({ message: 'clusters must be a whole number ≥ 1, e.g. 4' })
    .positive({ message: 'clusters must be ≥ 1, e.g. 4 (1 = full attention)' })
    .default(4),
  /** Heads using routing attention; the others use local attention. Default: half the heads (rounded up). */
  routingHeads: z
    .number({ message: 'routingHeads must be a whole number of heads, e.g. 2' })
    .int({ message: 'routingHeads must be a whole number of heads, e.g. 2' })
    .nonnegative({ message: 'routingHeads must be ≥ 0, e.g. 2' })
    .optional(),
  /** One-sided window of the local heads. */
  window: z
    .number({ message: 'window must be a whole number of tokens, e.g. 64' })
    .int({ message: 'window must be a whole number of tokens, e.g. 64' })
    .nonnegative({ message: 'window must be ≥ 0, e.g. 64' })
    .default(64),
  /** EMA decay λ of the centroid update. */
  decay: z
    .number({ message: 'decay must be a number in [0, 1), e.g. 0.999' })
    .min(0, { message: 'decay must be in [0, 1), e.g. 0.999' })
    .lt(1, { message: 'decay must be < 1 (1 would never update the centroids), e.g. 0.999' })
    .default(0.999),
  /** Share queries and keys (keys := queries), as in the paper. */
  sharedQK: z.boolean().default(true),
});
export type RoutingOptions = z.output<typeof RoutingOptions>;

/**
 * Not causal: the balanced assignment looks at the whole sequence, so a later token can move an
 * earlier token to another cluster and change its output (the paper's top-w routing has the
 * same property). The causal mask is still applied inside clusters when called with
 * ctx.causal, but the builder refuses the kernel in causal language models.
 */
export const routingCapabilities: SlotCapabilities['attention'] = {
  causal: false,
  bidirectional: true,
  bias: false,
  padding: true,
  segments: true,
  decode: false,
  weights: false,
};

/** Resolve and check routingHeads against the head count. */
export function resolveRoutingHeads(options: RoutingOptions, heads: number, path = 'attention'): number {
  const r = options.routingHeads ?? Math.ceil(heads / 2);
  if (r > heads) {
    throw new ConfigError(`${path}.routingHeads`, `routingHeads is ${r} but the model has ${heads} heads; use at most ${heads} (the rest use local attention)`);
  }
  return r;
}

/**
 * Balanced assignment: sim [L, C] row-major similarities, w = L / C. Returns the cluster of each
 * token; every cluster gets exactly w tokens. Pairs are taken by descending similarity (ties:
 * lower token, then lower cluster first).
 */
export function balancedAssign(sim: ArrayLike<number>, L: number, C: number): Int32Array {
  if (L % C !== 0) throw new ShapeError(`routing attention: length ${L} is not a multiple of clusters ${C}; use clusters dividing the sequence length`);
  const w = L / C;
  const order = Array.from({ length: L * C }, (_, t) => t);
  order.sort((a, b) => sim[b] - sim[a] || a - b);
  const assign = new Int32Array(L).fill(-1);
  const room = new Array(C).fill(w);
  let left = L;
  for (const t of order) {
    const i = Math.floor(t / C);
    const c = t % C;
    if (assign[i] >= 0 || room[c] === 0) continue;
    assign[i] = c;
    room[c]--;
    if (--left === 0) break;
  }
  return assign;
}

/** Row-wise L2 normalisation of x [n, D] (flat). */
function l2rows(x: Float32Array, n: number, D: number): Float32Array {
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[i * D + d] ** 2;
    const r = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let d = 0; d < D; d++) out[i * D + d] = x[i * D + d] * r;
  }
  return out;
}

/** sim[i, c] = x̂_i · μ_c for x̂ [L, D], μ [C, D]. */
function similarities(xh: Float32Array, mu: Float32Array, L: number, C: number, D: number): Float32Array {
  const sim = new Float32Array(L * C);
  for (let i = 0; i < L; i++) for (let c = 0; c < C; c++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += xh[i * D + d] * mu[c * D + d];
    sim[i * C + c] = s;
  }
  return sim;
}

/** One block per cluster: query slots = the cluster's queries, key slots = its keys (ascending). */
export function routingPlan(qAssign: Int32Array, kAssign: Int32Array, C: number, causal: boolean): BlockPlan {
  const L = qAssign.length;
  const w = L / C;
  const plan = emptyPlan(C, w, w);
  const qFill = new Array(C).fill(0);
  const kFill = new Array(C).fill(0);
  for (let i = 0; i < L; i++) plan.qIdx[qAssign[i] * w + qFill[qAssign[i]]++] = i;
  for (let j = 0; j < L; j++) plan.kIdx[kAssign[j] * w + kFill[kAssign[j]]++] = j;
  for (let c = 0; c < C; c++) for (let s = 0; s < w; s++) for (let t = 0; t < w; t++) {
    const i = plan.qIdx[c * w + s];
    const j = plan.kIdx[c * w + t];
    if (!causal || j <= i) plan.allowed[(c * w + s) * w + t] = 1;
  }
  return plan;
}

/** Sliding window plan: blocks of bq rows see keys first − ŵ .. last + ŵ (causal: .. last). */
export function localPlan(L: number, window: number, causal: boolean): BlockPlan {
  const bq = Math.min(L, Math.max(16, window));
  const nB = Math.ceil(L / bq);
  const K = causal ? bq + window : bq + 2 * window;
  const plan = emptyPlan(nB, bq, K);
  for (let n = 0; n < nB; n++) {
    const first = n * bq;
    for (let t = 0; t < K; t++) {
      const j = first - window + t;
      if (j >= 0 && j < L) plan.kIdx[n * K + t] = j;
    }
    for (let s = 0; s < bq && first + s < L; s++) {
      const i = first + s;
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j >= 0 && Math.abs(i - j) <= window && (!causal || j <= i)) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    }
  }
  return plan;
}

/**
 * The EMA centroid update (§4.1): μ [Hr, C, D] flat, vectors[h] = list of (normalised vector
 * [D], cluster) pairs routed in head h. Returns the new μ (clusters with no vector keep theirs).
 */
export function emaCentroids(mu: Float32Array, Hr: number, C: number, D: number, vectors: Array<Array<[Float32Array, number]>>, decay: number): Float32Array {
  const out = Float32Array.from(mu);
  for (let h = 0; h < Hr; h++) {
    const sum = new Float64Array(C * D);
    const count = new Array(C).fill(0);
    for (const [x, c] of vectors[h]) {
      count[c]++;
      for (let d = 0; d < D; d++) sum[c * D + d] += x[d];
    }
    for (let c = 0; c < C; c++) {
      if (!count[c]) continue;
      for (let d = 0; d < D; d++) {
        const o = (h * C + c) * D + d;
        out[o] = decay * mu[o] + (1 - decay) * (sum[c * D + d] / count[c]);
      }
    }
  }
  return out;
}

const sliceBatch = (t: Tensor | undefined, b: number): Tensor | undefined => (t ? tf.slice(t, [b], [1]) : undefined);

export class RoutingAttention extends Module implements AttentionKernel {
  readonly supports = routingCapabilities;
  /** μ [Hr, C, Dh]: non-trainable, updated by `updateCentroids` in training. */
  readonly centroids: tf.Variable;
  readonly routingHeads: number;

  constructor(readonly options: RoutingOptions, heads: number, headDim: number, rng: Rng) {
    super();
    this.routingHeads = resolveRoutingHeads(options, heads);
    const { clusters: C } = options;
    // Random unit vectors from the seeded rng.
    const init = (shape: number[], r: Rng) => l2rows(Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => r.normal()), shape[0] * shape[1], shape[2]);
    this.centroids = this.addParameter('centroids', [this.routingHeads, C, headDim], init, rng.fork('routing-centroids'), false);
  }

  /**
   * μ ← λ μ + (1 − λ) mean of the assigned normalised vectors. `vectors` per routing head:
   * (x̂ [Dh], cluster) pairs. Deterministic given its inputs.
   */
  updateCentroids(vectors: Array<Array<[Float32Array, number]>>): void {
    const [Hr, C, D] = this.centroids.shape as number[];
    const next = emaCentroids(this.centroids.dataSync() as Float32Array, Hr, C, D, vectors, this.options.decay);
    tf.tidy(() => this.centroids.assign(tf.tensor(next, [Hr, C, D], 'float32')));
  }

  /** q [B, H, L, Dh], k [B, Hkv, L, Dh], v [B, Hkv, L, Dv] -> [B, H, L, Dv]. */
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [B, H, Lq, Dh] = q.shape as number[];
    const [, Hkv, Lk] = k.shape as number[];
    if (Lq !== Lk) throw new ShapeError(`routing attention needs as many queries as keys (got ${Lq} and ${Lk}); cached decoding is not supported`);
    if (ctx.logitBias) throw new ShapeError('routing attention does not take a logit bias; use a positional encoding that rotates q/k (e.g. rope)');
    const L = Lq;
    const Hr = this.routingHeads;
    if (Hr > H) throw new ShapeError(`routing attention: routingHeads ${Hr} > ${H} heads`);
    const { clusters: C, sharedQK, window } = this.options;
    const routed = Array.from({ length: Hr }, (_, h) => h);
    const local = Array.from({ length: H - Hr }, (_, h) => Hr + h);
    return tf.tidy(() => {
      // Keys per query head (GQA repeat), then keys := queries on routing heads when shared.
      const headOfKv = tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor((h * Hkv) / H)), 'int32');
      let kk = Hkv === H ? k : tf.gather(k, headOfKv, 1); // [B, H, L, Dh]
      const vv = Hkv === H ? v : tf.gather(v, headOfKv, 1); // [B, H, L, Dv]
      if (sharedQK && Hr > 0) kk = Hr === H ? q : tf.concat([tf.slice(q, [0, 0], [B, Hr]), tf.slice(kk, [0, Hr], [B, H - Hr])], 1); // [B, H, L, Dh]
      const outs: Tensor[] = [];
      const mu = Hr > 0 ? (this.centroids.dataSync() as Float32Array) : new Float32Array(0);
      const qData = Hr > 0 ? (q.dataSync() as Float32Array) : new Float32Array(0);
      const kData = Hr > 0 ? (kk.dataSync() as Float32Array) : new Float32Array(0);
      const vectors: Array<Array<[Float32Array, number]>> = routed.map(() => []);
      const localGroup: HeadGroup[] = local.length ? [{ heads: local, plans: [localPlan(L, window, ctx.causal)] }] : [];
      for (let b = 0; b < B; b++) {
        const groups: HeadGroup[] = [...localGroup];
        for (const h of routed) {
          const base = (b * H + h) * L * Dh;
          const muH = mu.subarray(h * C * Dh, (h + 1) * C * Dh);
          const qh = l2rows(qData.subarray(base, base + L * Dh), L, Dh); // Q̂ [L, Dh]
          const qa = balancedAssign(similarities(qh, muH, L, C, Dh), L, C);
          let ka = qa;
          if (!sharedQK) {
            const kh = l2rows(kData.subarray(base, base + L * Dh), L, Dh); // K̂ [L, Dh]
            ka = balancedAssign(similarities(kh, muH, L, C, Dh), L, C);
            if (ctx.training) for (let j = 0; j < L; j++) vectors[h].push([kh.subarray(j * Dh, (j + 1) * Dh), ka[j]]);
          }
          if (ctx.training) for (let i = 0; i < L; i++) vectors[h].push([qh.subarray(i * Dh, (i + 1) * Dh), qa[i]]);
          groups.push({ heads: [h], plans: [routingPlan(qa, ka, C, ctx.causal)] });
        }
        const sub: AttentionContext = {
          ...ctx,
          keyPaddingMask: sliceBatch(ctx.keyPaddingMask, b),
          querySegmentIds: sliceBatch(ctx.querySegmentIds, b),
          keySegmentIds: sliceBatch(ctx.keySegmentIds, b),
        };
        const slice = (x: Tensor) => tf.slice(x, [b], [1]); // [1, H, L, ·]
        outs.push(blockSparseAttention(slice(q), slice(kk), slice(vv), sub, groups)); // [1, H, L, Dv]
      }
      if (ctx.training && Hr > 0) this.updateCentroids(vectors);
      return B === 1 ? outs[0] : tf.concat(outs, 0); // [B, H, L, Dv]
    });
  }
}
