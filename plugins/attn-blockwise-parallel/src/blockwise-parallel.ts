/**
 * Blockwise Parallel Transformer (BPT) — Liu & Abbeel, "Blockwise Parallel Transformer for Large
 * Context Models" (arXiv 2305.19370), §3, Algorithm 1.
 *
 * Notation (paper → code):
 *   x         the residual stream entering the block, [B, L, D]
 *   B_q, B_kv query / key-value block sizes                    `queryChunkSize`, `keyChunkSize`
 *   Q_i       the i-th query block; K_j, V_j the j-th key/value block
 *   m, ℓ, acc running max, softmax denominator and weighted sum of the online softmax (eq. 2–3)
 *   FFN       the block's feed-forward: W2 act(W1 · + b1) + b2
 *
 * One whole pre-norm transformer block, query block by query block (Algorithm 1):
 *   u      = LN1(x);   q, k, v = u W_q, u W_k, u W_v                     [B, H, L, Dh]
 *   for each query block i:
 *     for each key/value block j (causal: j's keys ≤ i's queries):
 *       s   = scale · Q_i K_jᵀ (+ masks)                                 [B, H, B_q, B_kv]
 *       m'  = max(m, rowmax s);  ℓ = ℓ e^{m−m'} + Σ e^{s−m'};  acc = acc e^{m−m'} + e^{s−m'} V_j
 *     a_i   = (acc / ℓ) W_o + b_o                                         [B, B_q, D]
 *     h_i   = x_i + a_i
 *     y_i   = a_i + FFN(LN2(h_i))       (the block adds x: out_i = x_i + y_i = h_i + FFN(LN2(h_i)))
 * so neither the L×L attention matrix nor the [L, 4D] FFN activations exist at once: per step
 * only a [B, H, B_q, B_kv] score tile and a [B, B_q, 4D] hidden tile (in the forward pass; tfjs
 * has no rematerialisation, so under a gradient tape the tiles are kept for the backward pass).
 *
 * The mixer returns y (the residual branch); the layer must use `norm: 'identity'` (this plugin)
 * and `feedforward: null`, so the block computes out = x + y — exactly the standard block
 * x + Attn(LN1 x) then + FFN(LN2 ·). Positions come from the embedding (absolute encodings);
 * rotary/bias positional encodings are not applied inside this mixer.
 */
import {
  Module,
  tf,
  z,
  type ForwardContext,
  type MixerCapabilities,
  type ModelDims,
  type Rng,
  type SequenceMixer,
  type Tensor,
} from '@weft/core';
import { activate, LayerNorm, Linear, type Activation } from '@weft/nn';

const MASKED = -1e9;

const chunk = (field: string) =>
  z
    .number({ message: `${field} must be a whole number of tokens ≥ 1, e.g. 512` })
    .int({ message: `${field} must be a whole number of tokens ≥ 1, e.g. 512` })
    .positive({ message: `${field} must be ≥ 1, e.g. 512` })
    .default(512);

/** Options: the reference code's names (query_chunk_size, key_chunk_size) and the GPT block's MLP. */
export const BlockwiseParallelOptions = z.object({
  /** Query block size B_q. */
  queryChunkSize: chunk('queryChunkSize'),
  /** Key/value block size B_kv. */
  keyChunkSize: chunk('keyChunkSize'),
  /** FFN hidden width = mult · dModel. */
  mult: z.number({ message: 'mult must be a number > 0, e.g. 4' }).positive({ message: 'mult must be > 0, e.g. 4' }).default(4),
  activation: z.enum(['gelu', 'relu', 'silu'], { message: "activation must be 'gelu', 'relu' or 'silu'" }).default('gelu'),
});
export type BlockwiseParallelOptions = z.output<typeof BlockwiseParallelOptions>;

/** What this implementation really supports: the builder refuses combinations from these. */
export const blockwiseParallelCapabilities: MixerCapabilities = {
  causal: true,
  bidirectional: true,
  decode: false,
  segments: true,
  padding: true,
};

export class BlockwiseParallelMixer extends Module implements SequenceMixer {
  readonly ln1: LayerNorm;
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  readonly ln2: LayerNorm;
  readonly up: Linear;
  readonly down: Linear;
  readonly heads: number;
  readonly headDim: number;

  constructor(readonly options: BlockwiseParallelOptions, dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim' | 'layers'>, rng: Rng) {
    super();
    const { dModel: D, heads: H, headDim: Dh } = dims;
    this.heads = H;
    this.headDim = Dh;
    const outStd = 0.02 / Math.sqrt(2 * dims.layers); // GPT-2 residual-projection init
    const residualInit = (s: number[], r: Rng) => r.normalArray(s[0] * s[1], 0, outStd);
    this.ln1 = this.addModule('ln1', new LayerNorm(D, rng.fork('ln1')));
    this.wq = this.addModule('wq', new Linear(D, H * Dh, rng.fork('wq')));
    this.wk = this.addModule('wk', new Linear(D, H * Dh, rng.fork('wk')));
    this.wv = this.addModule('wv', new Linear(D, H * Dh, rng.fork('wv')));
    this.wo = this.addModule('wo', new Linear(H * Dh, D, rng.fork('wo'), { weightInit: residualInit }));
    this.ln2 = this.addModule('ln2', new LayerNorm(D, rng.fork('ln2')));
    const hidden = Math.round(options.mult * D);
    this.up = this.addModule('up', new Linear(D, hidden, rng.fork('up')));
    this.down = this.addModule('down', new Linear(hidden, D, rng.fork('down'), { weightInit: residualInit }));
  }

  /** [B, L, H·Dh] -> [B, H, L, Dh]. */
  private split(t: Tensor): Tensor {
    const [B, L] = t.shape as number[];
    return tf.transpose(tf.reshape(t, [B, L, this.heads, this.headDim]), [0, 2, 1, 3]); // [B, H, L, Dh]
  }

  /** x [B, L, D] (the residual stream: use norm 'identity') -> y [B, L, D], the block's residual branch. */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as number[];
      const { queryChunkSize: bq, keyChunkSize: bk } = this.options;
      const u = this.ln1.forward(x);
      const q = this.split(this.wq.forward(u)); // [B, H, L, Dh]
      const k = this.split(this.wk.forward(u)); // [B, H, L, Dh]
      const v = this.split(this.wv.forward(u)); // [B, H, L, Dh]
      const scale = 1 / Math.sqrt(this.headDim);
      const keep = ctx.paddingMask ? tf.cast(ctx.paddingMask, 'float32') : undefined; // [B, L]
      const outs: Tensor[] = [];
      for (let q0 = 0; q0 < L; q0 += bq) {
        const q1 = Math.min(L, q0 + bq);
        outs.push(tf.tidy(() => this.queryBlock(x, q, k, v, q0, q1, bk, scale, ctx, keep, B, D)));
      }
      return outs.length === 1 ? outs[0] : tf.concat(outs, 1); // [B, L, D]
    });
  }

  /** Algorithm 1 for query rows q0 .. q1-1: online-softmax attention, then the FFN on that block. */
  private queryBlock(x: Tensor, q: Tensor, k: Tensor, v: Tensor, q0: number, q1: number, bk: number, scale: number, ctx: ForwardContext, keep: Tensor | undefined, B: number, D: number): Tensor {
    const [, H, L, Dh] = q.shape as number[];
    const nq = q1 - q0;
    const Qi = tf.mul(tf.slice(q, [0, 0, q0, 0], [B, H, nq, Dh]), scale); // [B, H, nq, Dh]
    let m: Tensor = tf.fill([B, H, nq, 1], -Infinity);
    let l: Tensor = tf.zeros([B, H, nq, 1]);
    let acc: Tensor = tf.zeros([B, H, nq, Dh]);
    let any: Tensor = tf.zeros([B, 1, nq, 1]);
    const kEnd = ctx.causal ? q1 : L; // causal: key blocks after the query block are skipped
    for (let k0 = 0; k0 < kEnd; k0 += bk) {
      const k1 = Math.min(kEnd, k0 + bk);
      const nk = k1 - k0;
      const next = tf.tidy(() => {
        const Kj = tf.slice(k, [0, 0, k0, 0], [B, H, nk, Dh]); // [B, H, nk, Dh]
        const Vj = tf.slice(v, [0, 0, k0, 0], [B, H, nk, Dh]); // [B, H, nk, Dh]
        // Additive mask [B|1, 1, nq, nk]: causal, key padding, segment ids.
        let mask: Tensor = tf.zeros([1, 1, nq, nk]);
        if (ctx.causal && k1 - 1 > q0) {
          const cm = new Float32Array(nq * nk);
          for (let a = 0; a < nq; a++) for (let c = 0; c < nk; c++) cm[a * nk + c] = k0 + c > q0 + a ? MASKED : 0;
          mask = tf.tensor(cm, [1, 1, nq, nk]);
        }
        if (keep) mask = tf.add(mask, tf.reshape(tf.mul(tf.sub(1, tf.slice(keep, [0, k0], [B, nk])), MASKED), [B, 1, 1, nk]));
        if (ctx.segmentIds) {
          const qs = tf.reshape(tf.slice(ctx.segmentIds, [0, q0], [B, nq]), [B, 1, nq, 1]);
          const ks = tf.reshape(tf.slice(ctx.segmentIds, [0, k0], [B, nk]), [B, 1, 1, nk]);
          mask = tf.add(mask, tf.mul(tf.sub(1, tf.cast(tf.equal(qs, ks), 'float32')), MASKED));
        }
        mask = tf.maximum(mask, MASKED);
        const s = tf.add(tf.matMul(Qi, Kj, false, true), mask); // [B, H, nq, nk]
        const mNew = tf.maximum(m, tf.max(s, -1, true)); // [B, H, nq, 1]
        const p = tf.exp(tf.sub(s, mNew)); // [B, H, nq, nk]
        const corr = tf.exp(tf.sub(m, mNew)); // [B, H, nq, 1] (0 on the first block: m = -∞)
        const lNew = tf.add(tf.mul(l, corr), tf.sum(p, -1, true));
        const accNew = tf.add(tf.mul(acc, corr), tf.matMul(p, Vj));
        const anyNew = tf.maximum(any, tf.cast(tf.greater(tf.max(mask, -1, true), MASKED / 2), 'float32'));
        return [mNew, lNew, accNew, anyNew];
      });
      tf.dispose([m, l, acc, any]);
      [m, l, acc, any] = next;
    }
    // Fully masked rows give 0, like dense attention.
    const o = tf.mul(tf.div(acc, l), any); // [B, H, nq, Dh]
    const a = this.wo.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, nq, H * Dh])); // [B, nq, D]
    const h = tf.add(tf.slice(x, [0, q0, 0], [B, nq, D]), a); // [B, nq, D]
    const f = this.down.forward(activate(this.up.forward(this.ln2.forward(h)), this.options.activation as Activation)); // [B, nq, D]
    return tf.add(a, f); // [B, nq, D]
  }
}
