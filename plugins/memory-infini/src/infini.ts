/**
 * Infini-attention (Munkhdalai, Faruqui, Gopal, 2024, arXiv:2404.07143, §2.1): causal local
 * softmax attention within a segment plus a compressive memory of all earlier segments, read
 * by linear attention and mixed with the local result by a learned per-head gate.
 *
 * Notation (paper → code):
 *   s                 segment index; X_s the segment input                     x  [B, N, D]
 *   Q, K, V = X W_Q, X W_K, X W_V   (per head, no bias)                          [B, H, N, Dh]
 *   A_dot = softmax(Q Kᵀ / sqrt(d_key), causal) V            (eq. 2)           aLocal [B, H, N, Dh]
 *   σ = ELU + 1                                                                 sigma()
 *   M_{s−1} memory matrix, z_{s−1} normalisation term                          M [B, H, Dh, Dh], z [B, H, Dh]
 *   A_mem = σ(Q) M_{s−1} / (σ(Q) z_{s−1})                    (eq. 3)           aMem [B, H, N, Dh]
 *   linear:  M_s = M_{s−1} + σ(K)ᵀ V                          (eq. 4)
 *   delta:   M_s = M_{s−1} + σ(K)ᵀ (V − σ(K) M_{s−1} / (σ(K) z_{s−1}))   (eq. 5)
 *   z_s = z_{s−1} + Σ_t σ(K_t)                                (eq. 4)
 *   A = sigmoid(β) ⊙ A_mem + (1 − sigmoid(β)) ⊙ A_dot         (eq. 6)          β [H], one scalar per head
 *   O = [A_1; …; A_H] W_O                                     (eq. 7)           [B, N, D]
 *
 * Shapes: B batch, N segment length, D model width, H heads, Dh head width (d_key = d_value).
 * The memory is empty before the first segment (M_0 = 0, z_0 = 0); the retrieval divides by
 * σ(Q) z + ε (ε = 1e-6), so an empty memory reads 0. Gradients flow through the carried
 * (M, z) into earlier segments (back-propagation through the segments, as in the paper's
 * training on unrolled segments).
 */
import {
  init,
  Module,
  tf,
  type ForwardContext,
  type LayerState,
  type ModelDims,
  type Rng,
  type SequenceMixer,
  type Tensor,
} from '@weft/core';
import { Linear, mergeHeads, splitHeads } from '@weft/nn';

/** Added to the retrieval denominators σ(Q)z and σ(K)z so an empty memory reads 0. */
export const INFINI_EPSILON = 1e-6;

export interface InfiniConfig {
  /** Memory update rule: 'linear' (eq. 4) or 'delta' (eq. 5). */
  update: 'linear' | 'delta';
}

/** σ(x) = ELU(x) + 1, the positive feature map of the memory (> 0 everywhere). */
export function sigma(x: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.elu(x), 1));
}

/** The compressive memory of one layer: M [B, H, Dh, Dh] and z [B, H, Dh] (undefined before the first segment). */
export class InfiniMemory implements LayerState {
  constructor(
    readonly M: Tensor | undefined,
    readonly z: Tensor | undefined,
  ) {}
  /** Segments folded in so far is not tracked: the size is fixed by H and Dh. */
  bytes(): number {
    return (this.M?.size ?? 0) * 4 + (this.z?.size ?? 0) * 4;
  }
  dispose(): void {
    this.M?.dispose();
    this.z?.dispose();
  }
}

/** A_mem = σ(Q) M / (σ(Q) z + ε) (eq. 3): sq [B, H, N, Dh], M [B, H, Dh, Dh], z [B, H, Dh] -> [B, H, N, Dh]. */
export function memoryRetrieval(sq: Tensor, M: Tensor, z: Tensor): Tensor {
  return tf.tidy(() => {
    const num = tf.matMul(sq, M); // [B, H, N, Dh]
    const den = tf.matMul(sq, tf.expandDims(z, 3)); // [B, H, N, 1]
    return tf.div(num, tf.add(den, INFINI_EPSILON));
  });
}

/** The memory update after a segment (eq. 4 / eq. 5): returns [M_s, z_s]. */
export function memoryUpdate(sk: Tensor, v: Tensor, M: Tensor | undefined, z: Tensor | undefined, update: 'linear' | 'delta'): [Tensor, Tensor] {
  return tf.tidy(() => {
    let values = v; // [B, H, N, Dh]
    if (update === 'delta' && M && z) values = tf.sub(v, memoryRetrieval(sk, M, z)); // V − σ(K)M/(σ(K)z)
    const add = tf.matMul(sk, values, true, false); // σ(K)ᵀ (·)  [B, H, Dh, Dh]
    const zAdd = tf.sum(sk, 2); // Σ_t σ(K_t)  [B, H, Dh]
    return [M ? tf.add(M, add) : add, z ? tf.add(z, zAdd) : zAdd];
  });
}

export class InfiniAttention extends Module implements SequenceMixer {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  /** β: the per-head gate between memory and local attention (eq. 6), [H]. */
  readonly beta: tf.Variable;
  readonly heads: number;
  readonly headDim: number;

  constructor(
    readonly config: InfiniConfig,
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
    this.beta = this.addParameter('beta', [H], init.zeros(), rng.fork('beta'));
  }

  /** One segment: outputs [B, N, D] and the next memory (M_s, z_s). */
  private segment(x: Tensor, M: Tensor | undefined, z: Tensor | undefined): [Tensor, Tensor, Tensor] {
    return tf.tidy(() => {
      const H = this.heads;
      const Dh = this.headDim;
      const [, N] = x.shape as [number, number, number];
      const q = splitHeads(this.wq.forward(x), H); // [B, H, N, Dh]
      const k = splitHeads(this.wk.forward(x), H); // [B, H, N, Dh]
      const v = splitHeads(this.wv.forward(x), H); // [B, H, N, Dh]

      // eq. 2: causal dot-product attention within the segment
      const mask = tf.tensor2d(
        Array.from({ length: N * N }, (_, n) => (n % N <= Math.floor(n / N) ? 0 : -1e30)),
        [N, N],
      ); // [N, N]
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)), mask); // [B, H, N, N]
      const aLocal = tf.matMul(tf.softmax(scores, -1), v); // [B, H, N, Dh]

      // eq. 3: retrieval from the memory of the earlier segments (0 when empty)
      const sq = sigma(q);
      const sk = sigma(k);
      const gate = tf.reshape(tf.sigmoid(this.beta), [1, H, 1, 1]); // [1, H, 1, 1]
      const a =
        M && z
          ? tf.add(tf.mul(gate, memoryRetrieval(sq, M, z)), tf.mul(tf.sub(1, gate), aLocal)) // eq. 6
          : tf.mul(tf.sub(1, gate), aLocal); // eq. 6 with A_mem = 0 (M_0 = 0)

      // eq. 4 / 5: fold this segment into the memory
      const [nextM, nextZ] = memoryUpdate(sk, v, M, z, this.config.update);
      return [this.wo.forward(mergeHeads(a)), nextM, nextZ]; // eq. 7: [B, N, D]
    });
  }

  /** One segment with an empty memory: gated causal softmax attention over x [B, L, D]. */
  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    const [y, M, z] = this.segment(x, undefined, undefined);
    tf.dispose([M, z]);
    return y;
  }

  initState(_batch: number): LayerState {
    return new InfiniMemory(undefined, undefined);
  }

  /**
   * Segment recurrence: read (M_{s−1}, z_{s−1}), return the outputs and (M_s, z_s). The input
   * state is consumed; the new tensors stay on the gradient tape (BPTT through the memory).
   */
  forwardSegment(x: Tensor, state: LayerState, _ctx: ForwardContext): [Tensor, LayerState] {
    const memory = state as InfiniMemory;
    const [y, M, z] = this.segment(x, memory.M, memory.z);
    memory.dispose();
    return [y, new InfiniMemory(tf.keep(M), tf.keep(z))];
  }
}
