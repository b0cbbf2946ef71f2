/**
 * Learned Token Pruning (LTP; Kim, Shen, Thorsley, Gholami, Kwon, Hassoun, Keutzer,
 * arXiv:2107.00910, KDD 2022): drop the tokens whose attention-based importance falls below a
 * threshold θ learned per layer, so the layers after it run on fewer tokens.
 *
 * Notation (the paper's §3):
 *   B batch, L length, D model width, H heads, Dh = D / H,
 *   A^(h)_{i,j} the attention probability from query i to key j in head h,
 *   s_j importance of token j, θ the layer's learned threshold, T the temperature.
 *
 *   s_j   = 1/(H·L) Σ_h Σ_i A^(h)_{i,j}          (Eq. 2: attention received, averaged over heads and queries)
 *   m_j   = σ((s_j − θ) / T)                     (Eq. 4: soft mask, training — the length is kept)
 *   keep j  ⇔  s_j ≥ θ                            (Eq. 3: hard mask, inference — pruned tokens are removed)
 *   L_reg = λ · mean_j m_j                        (Eq. 5's ‖M̃‖₁ term, per token; added to ctx.auxLosses)
 *
 * Where A comes from: a reducer runs between layers and sees only the hidden states, and no
 * caller installs @weft/nn's RECORD_ATTENTION recorder before the previous layer runs, so this
 * reducer recomputes A from its input with its own scoring projections Wq, Wk [D, D] (H heads,
 * scale Dh^-1/2, padding and segments masked): A = softmax(q kᵀ / √Dh). These projections and θ
 * learn through the soft mask. See the README.
 *
 * In the reducer slot pruned tokens bypass the spanned layers and come back at restore (their
 * input vector is put back), so the model keeps its length for the head:
 *   training:  x' = m ⊙ x,  restore(y) = m ⊙ y + (1 − m) ⊙ x
 *   inference: x' = x[kept] (rows padded to the batch's largest kept count, padding mask 0),
 *              restore(y)_t = y_{pos(t)} if t is kept, else x_t
 */
import {
  init,
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

export const LtpOptions = z.object({
  /** Initial θ (learned). 0 keeps every token (importance is never negative). */
  threshold: z.number().min(0, { message: 'the initial threshold θ must be >= 0 (importance is a probability; 0 keeps every token)' }).default(0),
  /** Temperature T of the soft mask σ((s − θ)/T). */
  temperature: z.number().positive({ message: 'the soft-mask temperature T must be > 0 (e.g. 0.001)' }).default(1e-3),
  /** λ: weight of the mask regulariser λ·mean(m) added to the auxiliary losses in training (0: off). */
  lambda: z.number().min(0, { message: 'the mask regulariser weight λ must be >= 0 (0 turns it off)' }).default(0),
});
export type LtpOptions = z.output<typeof LtpOptions>;

/** Pruning looks at every query's attention to a token, future queries included: bidirectional only. */
export const ltpCapabilities: SlotCapabilities['reducer'] = { causal: false };

/** Eq. 2: s_j = mean over heads and (real) queries of A [B, H, L, L] -> [B, L]. */
export function ltpImportance(probs: Tensor, queryMask?: Tensor /* [B, L] */): Tensor {
  return tf.tidy(() => {
    const perHead = tf.mean(probs, 1); // [B, L, L] averaged over heads
    if (!queryMask) return tf.mean(perHead, 1); // [B, L]
    const w = tf.expandDims(queryMask, 2); // [B, L, 1]
    return tf.div(tf.sum(tf.mul(perHead, w), 1), tf.maximum(tf.sum(w, 1), 1)); // [B, L]
  });
}

/** Eq. 4: m = σ((s − θ) / T). */
export function ltpSoftMask(scores: Tensor, threshold: Tensor | number, temperature: number): Tensor {
  return tf.tidy(() => tf.sigmoid(tf.div(tf.sub(scores, threshold), temperature)));
}

/** Eq. 3: which tokens stay, s_j ≥ θ (padding never stays). */
export function ltpHardKeep(scores: number[][], threshold: number, paddingMask?: number[][]): boolean[][] {
  return scores.map((row, b) => row.map((s, j) => s >= threshold && (!paddingMask || paddingMask[b][j] > 0)));
}

/** out[b, i] = t[b, index[b][i]] for t [B, N, ...] (a flat gather). */
function gatherRows(t: Tensor, index: number[][]): Tensor {
  return tf.tidy(() => {
    const [B, N, ...rest] = t.shape;
    const idx = tf.tensor1d(index.flatMap((row, b) => row.map((i) => b * N + i)), 'int32');
    return tf.reshape(tf.gather(tf.reshape(t, [B * N, ...rest]), idx), [B, index[0].length, ...rest]); // [B, N', ...]
  });
}

export class LtpReducer extends Module implements TokenReducer {
  readonly wq: tf.Variable;
  readonly wk: tf.Variable;
  /** θ, the layer's learned threshold (scalar). */
  readonly theta: tf.Variable;

  constructor(readonly options: LtpOptions, readonly dims: ModelDims, rng: Rng) {
    super();
    this.wq = this.addParameter('wq', [dims.dModel, dims.dModel], init.torchLinear(), rng);
    this.wk = this.addParameter('wk', [dims.dModel, dims.dModel], init.torchLinear(), rng);
    this.theta = this.addParameter('theta', [], init.constant(options.threshold), rng);
  }

  /** A = softmax(q kᵀ / √Dh) from the scoring projections, [B, H, L, L]. */
  attentionProbs(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const H = this.dims.heads, Dh = D / H;
      const split = (t: Tensor) => tf.transpose(tf.reshape(t, [B, L, H, Dh]), [0, 2, 1, 3]); // [B, H, L, Dh]
      const x2 = tf.reshape(x, [B * L, D]); // [B·L, D]
      const q = split(tf.matMul(x2, this.wq)), k = split(tf.matMul(x2, this.wk));
      let logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)); // [B, H, L, L]
      let allowed: Tensor | undefined;
      if (ctx.paddingMask) allowed = tf.reshape(ctx.paddingMask, [B, 1, 1, L]);
      if (ctx.segmentIds) {
        const same = tf.cast(tf.equal(tf.reshape(ctx.segmentIds, [B, 1, L, 1]), tf.reshape(ctx.segmentIds, [B, 1, 1, L])), 'float32'); // [B, 1, L, L]
        allowed = allowed ? tf.mul(allowed, same) : same;
      }
      if (allowed) logits = tf.add(logits, tf.mul(tf.sub(1, allowed), -1e9));
      return tf.softmax(logits); // [B, H, L, L]
    });
  }

  reduce(x: Tensor, ctx: ForwardContext): Reduction {
    const [B, L] = x.shape as [number, number, number];
    if (ctx.training) {
      const m = tf.tidy(() => tf.expandDims(ltpSoftMask(ltpImportance(this.attentionProbs(x, ctx), ctx.paddingMask), this.theta, this.options.temperature), 2)); // [B, L, 1]
      if (this.options.lambda > 0 && ctx.auxLosses) ctx.auxLosses.add('ltp.mask', tf.mean(m), this.options.lambda);
      return {
        x: tf.mul(x, m),
        ctx,
        restore: (y: Tensor) => tf.tidy(() => tf.add(tf.mul(m, y), tf.mul(tf.sub(1, m), x))), // [B, L, D]
      };
    }
    const scores = tf.tidy(() => ltpImportance(this.attentionProbs(x, ctx), ctx.paddingMask));
    const keep = ltpHardKeep(scores.arraySync() as number[][], this.theta.dataSync()[0], ctx.paddingMask?.arraySync() as number[][] | undefined);
    scores.dispose();
    if (keep.every((row) => row.every(Boolean))) return { x, ctx, restore: (y) => y };
    const kept = keep.map((row) => row.flatMap((k, j) => (k ? [j] : [])));
    const Lk = Math.max(1, ...kept.map((row) => row.length)); // L' (rows padded to it)
    const index = kept.map((row) => [...row, ...new Array(Lk - row.length).fill(0)]); // [B][L'] filler points at token 0
    const slot = keep.map((row) => {
      let p = 0;
      return row.map((k) => (k ? p++ : 0)); // pos(t) in the reduced row
    });
    const out = tf.tidy(() => {
      const real = tf.tensor2d(kept.map((row) => Array.from({ length: Lk }, (_, i) => (i < row.length ? 1 : 0))), [B, Lk]); // [B, L']
      return {
        x: gatherRows(x, index), // [B, L', D]
        positions: gatherRows(ctx.positions, index), // [B, L']
        segmentIds: ctx.segmentIds ? gatherRows(ctx.segmentIds, index) : undefined,
        paddingMask: real,
      };
    });
    return {
      x: out.x,
      ctx: { ...ctx, positions: out.positions, segmentIds: out.segmentIds, paddingMask: out.paddingMask },
      restore: (y: Tensor) =>
        tf.tidy(() => {
          const back = gatherRows(y, slot); // [B, L, D]
          const k = tf.tensor3d(keep.map((row) => row.map((v) => [v ? 1 : 0])), [B, L, 1]); // [B, L, 1]
          return tf.add(tf.mul(k, back), tf.mul(tf.sub(1, k), x)); // [B, L, D]
        }),
    };
  }
}
