/**
 * TransformerFAM (Hwang, Wang, Huo, Sim, Moreno Mengibar, 2024, arXiv:2404.09173, §3): Block
 * Sliding Window Attention (BSWA) plus F feedback-memory (FAM) tokens. The block's queries
 * attend to the previous FAM, the `window` previous blocks and themselves (causal); the FAM
 * queries attend to the previous FAM and the whole current block, and their result becomes the
 * FAM of the next block (Algorithm 1).
 *
 * Notation (paper → code):
 *   τ            block index (= the model's segment); X_τ the block input     x    [B, N, D]
 *   FAM_τ        feedback memory activations after block τ                   fam  [B, F, D]
 *   FAM_0        learned initial memory ("FAM init", a learned prompt)        famInit [F, D]
 *   memory seg.  the `window` previous blocks' inputs (lookback)              mem  [B, Lm, D], Lm ≤ window·N
 *   Q, K, V      = · W_Q, · W_K, · W_V per head (no bias)                      [B, H, ·, Dh]
 *   keys/values of [FAM_{τ−1} ; mem ; X_τ]                                     [B, H, F + Lm + N, Dh]
 *   block query i:  FAM_{τ−1} ✓, mem ✓, X_τ[j] iff j ≤ i (causal)
 *   FAM query:      FAM_{τ−1} ✓, mem ✗, X_τ ✓ (the whole block)
 *   O = softmax(QKᵀ/√Dh + mask) V W_O                                          [B, N + F, D]
 *   FAM_τ = FAM_{τ−1} + O_FAM   (the sublayer's residual; see README)
 *
 * Shapes: B batch, N block length, D width, H heads, Dh head width, F memory tokens.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type ModelDims, type Rng, type SequenceMixer, type Tensor } from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';

export interface FamConfig {
  /** F: the number of feedback memory tokens (0 = plain block sliding-window attention). */
  memoryTokens: number;
  /** How many previous blocks the block's queries see (the memory segment). */
  window: number;
}

/** Carried state: FAM_τ [B, F, D] (undefined before the first block) and the lookback inputs [B, Lm, D]. */
export class FamState implements LayerState {
  constructor(
    readonly fam: Tensor | undefined,
    readonly mem: Tensor | undefined,
  ) {}
  bytes(): number {
    return ((this.fam?.size ?? 0) + (this.mem?.size ?? 0)) * 4;
  }
  dispose(): void {
    this.fam?.dispose();
    this.mem?.dispose();
  }
}

/** The additive mask [N + F, F + Lm + N] of Algorithm 1 (0 = attend, −1e30 = blocked). */
export function famMask(N: number, F: number, Lm: number): Tensor {
  const K = F + Lm + N;
  const values = new Float32Array((N + F) * K);
  for (let i = 0; i < N + F; i++) {
    for (let j = 0; j < K; j++) {
      let ok: boolean;
      if (j < F) ok = true; // previous FAM
      else if (j < F + Lm) ok = i < N; // memory segment: block queries only
      else ok = i >= N || j - F - Lm <= i; // current block: causal for block queries, all for FAM
      values[i * K + j] = ok ? 0 : -1e30;
    }
  }
  return tf.tensor2d(values, [N + F, K]);
}

export class FamAttention extends Module implements SequenceMixer {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  /** FAM_0 [F, D] (absent when F = 0). */
  readonly famInit?: tf.Variable;
  readonly heads: number;
  readonly headDim: number;

  constructor(
    readonly config: FamConfig,
    dims: Pick<ModelDims, 'dModel' | 'heads' | 'headDim'>,
    rng: Rng,
  ) {
    super();
    const { dModel: D, heads: H, headDim: Dh } = dims;
    this.heads = H;
    this.headDim = Dh;
    this.wq = this.addModule('q_proj', new Linear(D, H * Dh, rng.fork('q_proj'), { bias: false }));
    this.wk = this.addModule('k_proj', new Linear(D, H * Dh, rng.fork('k_proj'), { bias: false }));
    this.wv = this.addModule('v_proj', new Linear(D, H * Dh, rng.fork('v_proj'), { bias: false }));
    this.wo = this.addModule('o_proj', new Linear(H * Dh, D, rng.fork('o_proj'), { bias: false }));
    if (config.memoryTokens > 0) this.famInit = this.addParameter('fam_init', [config.memoryTokens, D], init.normal(0.02), rng.fork('fam_init'));
  }

  /** One block: outputs [B, N, D], FAM_τ [B, F, D] (undefined when F = 0) and the next lookback inputs. */
  private block(x: Tensor, fam: Tensor | undefined, mem: Tensor | undefined): [Tensor, Tensor | undefined, Tensor | undefined] {
    return tf.tidy(() => {
      const H = this.heads;
      const Dh = this.headDim;
      const { memoryTokens: F, window } = this.config;
      const [B, N, D] = x.shape as [number, number, number];
      let prev = fam;
      if (F > 0 && !prev) prev = tf.tile(tf.expandDims(this.famInit!, 0), [B, 1, 1]); // FAM_0 [B, F, D]
      const Lm = mem ? (mem.shape as number[])[1] : 0;
      const kvIn = tf.concat([...(prev ? [prev] : []), ...(mem ? [mem] : []), x], 1); // [B, F + Lm + N, D]
      const qIn = prev ? tf.concat([x, prev], 1) : x; // [B, N + F, D]
      const q = splitHeads(this.wq.forward(qIn), H); // [B, H, N + F, Dh]
      const k = splitHeads(this.wk.forward(kvIn), H); // [B, H, F + Lm + N, Dh]
      const v = splitHeads(this.wv.forward(kvIn), H); // [B, H, F + Lm + N, Dh]
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)), famMask(N, F, Lm)); // [B, H, N + F, F + Lm + N]
      const o = this.wo.forward(mergeHeads(tf.matMul(tf.softmax(scores, -1), v))); // [B, N + F, D]
      const y = tf.slice(o, [0, 0, 0], [B, N, D]); // [B, N, D]
      const nextFam = prev ? tf.add(prev, tf.slice(o, [0, N, 0], [B, F, D])) : undefined; // FAM_τ [B, F, D]
      let nextMem: Tensor | undefined;
      if (window > 0) {
        const all = mem ? tf.concat([mem, x], 1) : x; // [B, Lm + N, D]
        const total = (all.shape as number[])[1];
        const keep = Math.min(total, window * N);
        nextMem = tf.slice(all, [0, total - keep, 0], [B, keep, D]); // [B, ≤ window·N, D]
      }
      return [y, nextFam, nextMem];
    });
  }

  /** One block with FAM_0 and no lookback. */
  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    const [y, fam, mem] = this.block(x, undefined, undefined);
    tf.dispose([fam, mem].filter((t): t is Tensor => t !== undefined));
    return y;
  }

  initState(_batch: number): LayerState {
    return new FamState(undefined, undefined);
  }

  /** Algorithm 1 for one block; the input state is consumed; gradients flow through the carried FAM and lookback. */
  forwardSegment(x: Tensor, state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {
    const s = state as FamState;
    const [y, fam, mem] = this.block(x, s.fam, s.mem);
    s.dispose();
    return [y, new FamState(fam && tf.keep(fam), mem && tf.keep(mem))];
  }
}
