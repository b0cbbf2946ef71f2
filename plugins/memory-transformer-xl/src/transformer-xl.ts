/**
 * Transformer-XL relative multi-head attention with segment-level recurrence (Dai et al.,
 * ACL 2019, arXiv:1901.02860, §3.2–3.3), following the reference `RelPartialLearnableMultiHeadAttn`.
 *
 * Notation (paper → code):
 *   τ          segment index; h^{n-1}_τ the layer input of segment τ          x  [B, Lq, D]
 *   m^{n-1}_τ  memory: last `memLength` layer inputs before segment τ, SG(·)   mems [B, M, D]
 *   h̃ = [SG(m) ∘ h]  (eq. in §3.2)                                           cat [B, K, D], K = M + Lq
 *   q = h W_q, k = h̃ W_k, v = h̃ W_v     (qkv_net, no bias; chunk order q|k|v)
 *   R_d = [sin(d·f) | cos(d·f)], f_i = 10000^(-2i/D), d = K-1..0                R  [K, D]
 *   u, v (r_w_bias, r_r_bias)  the global content / position biases            [H, Dh]
 *   A^rel_{i,j} = (q_i + u)·k_j + (q_i + v)·W_{k,R} R_{i+M-j}    (eq. in §3.3, terms (a)+(c), (b)+(d))
 *   score = A^rel / sqrt(Dh), masked where j > i + M (triu(ones(Lq, K), 1 + M)), softmax over j
 *   y = (softmax · v) W_o      (o_net, no bias)
 *
 * Shapes: B batch, Lq segment (query) length, M memory length, K = M + Lq keys, D model width,
 * H heads, Dh head width.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';
import { relShift } from './rel-shift.js';

export interface TransformerXlConfig {
  dModel: number;
  heads: number;
  headDim: number;
  /** Number of previous layer inputs kept as memory between segments (mem_len). */
  memLength: number;
}

/** The cached layer inputs m [B, M, D] (undefined when empty). */
export class XlMemory implements LayerState {
  constructor(readonly mems: Tensor | undefined) {}
  get length(): number {
    return this.mems ? (this.mems.shape as number[])[1] : 0;
  }
  bytes(): number {
    return this.mems ? this.mems.size * 4 : 0;
  }
  dispose(): void {
    this.mems?.dispose();
  }
}

/** R [K, D]: sinusoids of the distances K-1, ..., 0, concatenated [sin | cos] (PositionalEmbedding). */
export function relativeSinusoids(K: number, dModel: number): Tensor {
  return tf.tidy(() => {
    const invFreq = tf.tensor1d(Array.from({ length: dModel / 2 }, (_, i) => 1 / Math.pow(10000, (2 * i) / dModel))); // [D/2]
    const posSeq = tf.range(K - 1, -1, -1, 'float32'); // [K]: K-1 .. 0
    const angles = tf.mul(tf.reshape(posSeq, [K, 1]), tf.reshape(invFreq, [1, dModel / 2])); // [K, D/2]
    return tf.concat([tf.sin(angles), tf.cos(angles)], 1); // [K, D]
  });
}

export class TransformerXlAttention extends Module implements SequenceMixer {
  readonly qkvNet: Linear;
  readonly rNet: Linear;
  readonly oNet: Linear;
  /** u: content bias r_w_bias [H, Dh]. */
  readonly rWBias: tf.Variable;
  /** v: position bias r_r_bias [H, Dh]. */
  readonly rRBias: tf.Variable;

  constructor(readonly config: TransformerXlConfig, rng: Rng) {
    super();
    const { dModel: D, heads: H, headDim: Dh } = config;
    this.qkvNet = this.addModule('qkv_net', new Linear(D, 3 * H * Dh, rng.fork('qkv_net'), { bias: false }));
    this.rNet = this.addModule('r_net', new Linear(D, H * Dh, rng.fork('r_net'), { bias: false }));
    this.oNet = this.addModule('o_net', new Linear(H * Dh, D, rng.fork('o_net'), { bias: false }));
    this.rWBias = this.addParameter('r_w_bias', [H, Dh], init.normal(0.02), rng.fork('r_w_bias'));
    this.rRBias = this.addParameter('r_r_bias', [H, Dh], init.normal(0.02), rng.fork('r_r_bias'));
  }

  /** The relative attention of the queries x [B, Lq, D] over [mems ; x]. */
  attend(x: Tensor, mems: Tensor | undefined): Tensor {
    return tf.tidy(() => {
      const { dModel: D, heads: H, headDim: Dh } = this.config;
      const [B, Lq] = x.shape as [number, number, number];
      const cat = mems ? tf.concat([mems, x], 1) : x; // h̃ [B, K, D]
      const K = (cat.shape as number[])[1];
      const M = K - Lq;
      const w = this.qkvNet.forward(cat); // [B, K, 3·H·Dh]
      const [qAll, kAll, vAll] = tf.split(w, 3, 2); // each [B, K, H·Dh]
      const q = splitHeads(tf.slice(qAll, [0, M, 0], [B, Lq, H * Dh]), H); // [B, H, Lq, Dh]
      const k = splitHeads(kAll, H); // [B, H, K, Dh]
      const v = splitHeads(vAll, H); // [B, H, K, Dh]
      const u = tf.reshape(this.rWBias, [1, H, 1, Dh]);
      const vBias = tf.reshape(this.rRBias, [1, H, 1, Dh]);

      // (a) + (c): (q_i + u)·k_j
      const AC = tf.matMul(tf.add(q, u), k, false, true); // [B, H, Lq, K]
      // (b) + (d): (q_i + v)·W_{k,R} R_{K-1-c}, then rel-shift to index by key j
      const rHeadK = tf.reshape(this.rNet.forward(relativeSinusoids(K, D)), [K, H, Dh]); // [K, H, Dh]
      const rT = tf.transpose(rHeadK, [1, 2, 0]); // [H, Dh, K]
      const qv = tf.reshape(tf.transpose(tf.add(q, vBias), [1, 0, 2, 3]), [H, B * Lq, Dh]); // [H, B·Lq, Dh]
      const BDraw = tf.transpose(tf.reshape(tf.matMul(qv, rT), [H, B, Lq, K]), [1, 0, 2, 3]); // [B, H, Lq, K]
      const BD = relShift(BDraw); // [B, H, Lq, K]

      // mask triu(ones(Lq, K), 1 + M): query i sees key j iff j <= i + M
      const allowed = tf.tensor2d(
        Array.from({ length: Lq * K }, (_, n) => (n % K <= Math.floor(n / K) + M ? 0 : -1e30)),
        [Lq, K],
      ); // [Lq, K]
      const scores = tf.add(tf.mul(tf.add(AC, BD), 1 / Math.sqrt(Dh)), allowed); // [B, H, Lq, K]
      const probs = tf.softmax(scores, -1);
      const o = mergeHeads(tf.matMul(probs, v)); // [B, Lq, H·Dh]
      return this.oNet.forward(o); // [B, Lq, D]
    });
  }

  /** Plain forward: one segment with no memory (causal relative attention over x). */
  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return this.attend(x, undefined);
  }

  initState(_batch: number): LayerState {
    return new XlMemory(undefined);
  }

  /**
   * Segment recurrence (§3.2): attend over [SG(m_τ) ; h_τ], then m_τ+1 = the last `memLength`
   * of [m_τ ; h_τ]. The new memory is a stop-gradient copy (fresh values outside the tape,
   * `SG(·)` in the paper), so no gradient reaches earlier segments.
   */
  forwardSegment(x: Tensor, state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {
    const memory = state as XlMemory;
    const y = this.attend(x, memory.mems);
    const next = tf.tidy(() => {
      const cat = memory.mems ? tf.concat([memory.mems, x], 1) : x; // [B, M + Lq, D]
      const total = (cat.shape as number[])[1];
      const keep = Math.min(this.config.memLength, total);
      if (keep === 0) return undefined;
      const last = tf.slice(cat, [0, total - keep, 0], [-1, keep, -1]); // [B, min(memLength, M+Lq), D]
      return tf.keep(tf.tensor(last.dataSync(), last.shape, 'float32')); // SG(·)
    });
    memory.dispose();
    return [y, new XlMemory(next)];
  }

  /**
   * Decoding: the state caches every previous layer input (no truncation, so step == forward);
   * T new tokens attend over [cache ; x] with the same relative encoding.
   */
  step(x: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const memory = state as XlMemory;
    const y = this.attend(x, memory.mems);
    const next = tf.keep(memory.mems ? tf.concat([memory.mems, x], 1) : tf.clone(x)); // [B, M + T, D]
    memory.dispose();
    return [y, new XlMemory(next)];
  }
}
