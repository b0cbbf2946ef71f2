/**
 * Lightning Attention — Qin et al., "Scaling TransNormer to 175 Billion Parameters"
 * (TransNormerLLM, arXiv 2307.14995), Sec. 3.2 and Algorithm 1-2: causal linear attention
 * with a per-head exponential decay, computed block by block.
 *
 * Notation (paper → code):
 *   λ_h ∈ (0, 1]           decay of head h (LRPE-d, Sec. 3.1.1)         `logDecay` = log λ_h
 *   M[i, j] = λ^(i−j)      decay mask for i ≥ j, 0 otherwise
 *   O = (Q Kᵀ ⊙ M) V       the parallel form (eq. for NormAttention, before the norm)
 *   kv_t = λ kv_{t−1} + k_tᵀ v_t,  o_t = q_t kv_t          the recurrent form (Sec. 3.3)
 *   B                      block size (`blockSize`)
 *   Per block n of rows r, s = 0..B−1 (Algorithm 1):
 *     O_intra = (Q_n K_nᵀ ⊙ M_B) V_n                               intra-block, masked
 *     O_inter = Λ Q_n KV_{<n},  Λ = diag(λ^(r+1))                  inter-block, from the state
 *     KV_n    = λ^B KV_{<n} + (λ^(B−1−s) K_n)ᵀ V_n                 state update
 *
 * So o_i = Σ_{j≤i} λ^(i−j) (q_i·k_j) v_j. The state recurrence over blocks is evaluated as
 * one product with the [N, N] matrix W[n, m] = λ^(B(n−1−m)) (m < n): every exponent is ≥ 0,
 * so nothing overflows. The sequence is zero-padded at the FRONT to a multiple of B, so the
 * state after the last block is exactly the state after the last real token.
 *
 * Decoding: the kernel implements core's stateful-kernel contract. `initState` returns a zero
 * KV (a `LightningState`, per query head); `attendStep` runs the T new tokens through the same
 * block-wise form starting from that state and returns the state after them — O(1) memory.
 *
 * TransNormerLLM wraps the op as O = Norm((φ(Q) φ(K)ᵀ ⊙ M) V) with φ = SiLU and a simple RMS
 * norm; both are options here (`featureMap`, `normalize`), because the Weft attention mixer
 * has no other place for them. `featureMap: 'identity', normalize: 'none'` is the bare op.
 */
import {
  ShapeError,
  StateError,
  tf,
  type AttentionCapabilities,
  type AttentionContext,
  type AttentionKernel,
  type AttentionStateDims,
  type LayerState,
  type Tensor,
} from '@weft/core';
import { LightningState } from './lightning-state.js';

export interface LightningAttentionOptions {
  blockSize: number;
  /** log λ_h per query head (≤ 0). */
  logDecay: number[];
  featureMap: 'silu' | 'identity';
  normalize: 'srms' | 'none';
  /** ε of the simple RMS norm. */
  normEps: number;
}

export const LIGHTNING_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: false,
  bias: false,
  padding: true,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]);
}

/** λ^(n) per head as [1, H, ...shape] for integer exponents `n` laid out in `shape`. */
function decayPow(logDecay: Tensor /* [H] */, exponents: Tensor /* any shape, float */): Tensor {
  const H = logDecay.shape[0]!;
  const e = exponents.shape as number[];
  return tf.exp(tf.mul(tf.reshape(logDecay, [1, H, ...e.map(() => 1)]), tf.expandDims(tf.expandDims(exponents, 0), 0)));
}

/**
 * The block-wise decayed causal product. q, k [B, H, L, D], v [B, H, L, Dv], logDecay [H],
 * optional initial state S0 [B, H, D, Dv]. Returns the output [B, H, L, Dv] and the state
 * after the last token.
 */
export function lightningCausal(q: Tensor, k: Tensor, v: Tensor, logDecay: Tensor, blockSize: number, S0?: Tensor): { out: Tensor; S: Tensor } {
  const [B, H, L, D] = q.shape as number[];
  const Dv = (v.shape as number[])[3];
  const C = Math.max(1, Math.min(blockSize, L));
  const N = Math.ceil(L / C);
  const pad = N * C - L;
  const padFront = (t: Tensor) => (pad ? tf.pad(t, [[0, 0], [0, 0], [pad, 0], [0, 0]]) : t);
  const q5 = tf.reshape(padFront(q), [B, H, N, C, D]); // [B, H, N, C, D]
  const k5 = tf.reshape(padFront(k), [B, H, N, C, D]); // [B, H, N, C, D]
  const v5 = tf.reshape(padFront(v), [B, H, N, C, Dv]); // [B, H, N, C, Dv]

  // Intra-block: (Q Kᵀ ⊙ M) V with M[r, s] = λ^(r−s) for r ≥ s.
  const r = tf.range(0, C, 1, 'float32');
  const diff = tf.sub(tf.reshape(r, [C, 1]), tf.reshape(r, [1, C])); // [C, C] r − s
  const lower = tf.cast(tf.greaterEqual(diff, 0), 'float32'); // [C, C]
  const M = tf.mul(decayPow(logDecay, tf.relu(diff)), lower); // [1, H, C, C]
  const A = tf.mul(tf.matMul(q5, k5, false, true), tf.expandDims(M, 2)); // [B, H, N, C, C]
  const intra = tf.matMul(A, v5); // [B, H, N, C, Dv]

  // Each block's own contribution to the state at its end: Σ_s λ^(C−1−s) k_s v_sᵀ.
  const wK = tf.expandDims(tf.expandDims(decayPow(logDecay, tf.sub(C - 1, r)), 2), -1); // [1, H, 1, C, 1]
  const T = tf.matMul(tf.mul(k5, wK), v5, true, false); // [B, H, N, D, Dv]

  // State before block n: KV_{<n} = Σ_{m<n} λ^(C(n−1−m)) T_m (+ λ^(C·n) S0, handled below).
  const n = tf.range(0, N, 1, 'float32');
  const gap = tf.sub(tf.sub(tf.reshape(n, [N, 1]), tf.reshape(n, [1, N])), 1); // [N, N] n − 1 − m
  const W = tf.mul(decayPow(logDecay, tf.mul(tf.relu(gap), C)), tf.cast(tf.greaterEqual(gap, 0), 'float32')); // [1, H, N, N]
  const prev = tf.reshape(tf.matMul(tf.tile(W, [B, 1, 1, 1]), tf.reshape(T, [B, H, N, D * Dv])), [B, H, N, D, Dv]); // [B, H, N, D, Dv]

  // Inter-block: λ^(r+1) q_r KV_{<n}.
  const wQ = tf.expandDims(tf.expandDims(decayPow(logDecay, tf.add(r, 1)), 2), -1); // [1, H, 1, C, 1]
  const inter = tf.matMul(tf.mul(q5, wQ), prev); // [B, H, N, C, Dv]

  let out = tf.reshape(tf.add(intra, inter), [B, H, N * C, Dv]); // [B, H, N·C, Dv]
  if (pad) out = tf.slice(out, [0, 0, pad, 0], [B, H, L, Dv]); // [B, H, L, Dv]

  // State after the last block: Σ_m λ^(C(N−1−m)) T_m.
  const wT = tf.reshape(decayPow(logDecay, tf.mul(tf.sub(N - 1, n), C)), [1, H, N, 1, 1]);
  let S = tf.sum(tf.mul(T, wT), 2); // [B, H, D, Dv]

  if (S0) {
    // Carried state: real token i reads λ^(i+1) q_i S0; the state decays by λ^L.
    const i = tf.range(0, L, 1, 'float32');
    const wS0 = tf.expandDims(decayPow(logDecay, tf.add(i, 1)), -1); // [1, H, L, 1]
    out = tf.add(out, tf.matMul(tf.mul(q, wS0), S0)); // [B, H, L, Dv]
    S = tf.add(S, tf.mul(S0, tf.reshape(tf.exp(tf.mul(logDecay, L)), [1, H, 1, 1])));
  }
  return { out, S };
}

/** Simple RMS norm over the concatenated heads of each token: x / sqrt(mean(x²) + ε). */
export function simpleRmsNorm(o: Tensor /* [B, H, L, Dv] */, eps: number): Tensor {
  return tf.mul(o, tf.rsqrt(tf.add(tf.mean(tf.square(o), [1, 3], true), eps))); // [B, H, L, Dv]
}

export class LightningAttention implements AttentionKernel {
  static readonly kind = 'lightning';
  readonly supports = LIGHTNING_CAPABILITIES;

  constructor(readonly options: LightningAttentionOptions) {}

  private checkHeads(H: number): void {
    if (this.options.logDecay.length !== H) {
      throw new ShapeError(`lightning attention: ${this.options.logDecay.length} decay rates for ${H} query heads; give one λ per head`);
    }
  }

  private featureMap(x: Tensor): Tensor {
    return this.options.featureMap === 'silu' ? tf.mul(x, tf.sigmoid(x)) : x;
  }

  private finish(out: Tensor /* [B, H, L, Dv] */): Tensor {
    return this.options.normalize === 'srms' ? simpleRmsNorm(out, this.options.normEps) : out;
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      if (!ctx.causal) throw new ShapeError('lightning attention is causal only (the decay runs forward in time); use a bidirectional kernel such as linear or dense');
      const [B, H, Lq, D] = q.shape as number[];
      const Lk = (k.shape as number[])[2];
      const { blockSize } = this.options;
      this.checkHeads(H);
      const logDecay = tf.tensor1d(this.options.logDecay, 'float32'); // [H]
      const fq = this.featureMap(q); // [B, H, Lq, D]
      let fk = repeatHeads(this.featureMap(k), H); // [B, H, Lk, D]
      const vv = repeatHeads(v, H); // [B, H, Lk, Dv]
      if (ctx.keyPaddingMask) fk = tf.mul(fk, tf.reshape(tf.cast(ctx.keyPaddingMask, 'float32'), [-1, 1, Lk, 1]));
      const Dv = (vv.shape as number[])[3];

      const prefix = Lk - Lq;
      if (prefix < 0 || ctx.queryOffset !== prefix) {
        throw new ShapeError(
          `lightning attention: needs queryOffset = Lk - Lq (queries aligned to the last keys); got queryOffset ${ctx.queryOffset} with Lq ${Lq}, Lk ${Lk}`,
        );
      }
      if (prefix === 0) return this.finish(lightningCausal(fq, fk, vv, logDecay, blockSize).out);
      // Keys beyond the queries (a caller holding every key): fold the prefix into
      // KV_0 = Σ_{j<p} λ^(p−1−j) k_j v_jᵀ (O(context)).
      const kPre = tf.slice(fk, [0, 0, 0, 0], [B, H, prefix, D]); // [B, H, p, D]
      const vPre = tf.slice(vv, [0, 0, 0, 0], [B, H, prefix, Dv]); // [B, H, p, Dv]
      const w = tf.expandDims(decayPow(logDecay, tf.sub(prefix - 1, tf.range(0, prefix, 1, 'float32'))), -1); // [1, H, p, 1]
      const S0 = tf.matMul(tf.mul(kPre, w), vPre, true, false); // [B, H, D, Dv]
      const kNew = tf.slice(fk, [0, 0, prefix, 0], [B, H, Lq, D]);
      const vNew = tf.slice(vv, [0, 0, prefix, 0], [B, H, Lq, Dv]);
      return this.finish(lightningCausal(fq, kNew, vNew, logDecay, blockSize, S0).out); // [B, H, Lq, Dv]
    });
  }

  /** Zero state KV_0 = 0, one [Dh, Dh] matrix per query head. */
  initState(batch: number, dims: AttentionStateDims): LightningState {
    this.checkHeads(dims.heads);
    return new LightningState(tf.keep(tf.zeros([batch, dims.heads, dims.headDim, dims.headDim])), 0);
  }

  /**
   * Causal decoding of T new tokens from the state (Sec. 3.3, run block-wise): q [B, H, T, Dh],
   * k [B, Hkv, T, Dh], v [B, Hkv, T, Dv]. Consumes `state`; returns [B, H, T, Dv] and the next state.
   */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof LightningState)) {
      throw new StateError('lightning attention: attendStep needs the state from this kernel\'s initState (a LightningState); create the cache with model.initCache(batch)');
    }
    if (!ctx.causal) throw new ShapeError('lightning attention is causal only (the decay runs forward in time); use a bidirectional kernel such as linear or dense');
    const [B, H, T, D] = q.shape as number[];
    const Tk = (k.shape as number[])[2];
    if (Tk !== T) throw new ShapeError(`lightning attention: attendStep expects as many new keys as new queries; got q [${q.shape}] and k [${k.shape}]`);
    const [Bs, Hs, Ds] = state.S.shape as number[];
    if (Bs !== B || Hs !== H || Ds !== D) {
      throw new StateError(`lightning attention: the state holds KV [${state.S.shape}] but the new queries are [${q.shape}]; the state belongs to another batch size or layer`);
    }
    this.checkHeads(H);
    const [out, S] = tf.tidy(() => {
      const logDecay = tf.tensor1d(this.options.logDecay, 'float32'); // [H]
      let fk = repeatHeads(this.featureMap(k), H); // [B, H, T, D]
      if (ctx.keyPaddingMask) fk = tf.mul(fk, tf.reshape(tf.cast(ctx.keyPaddingMask, 'float32'), [-1, 1, T, 1]));
      const res = lightningCausal(this.featureMap(q), fk, repeatHeads(v, H), logDecay, this.options.blockSize, state.S);
      return [this.finish(res.out), res.S]; // [B, H, T, Dv], [B, H, D, Dv]
    });
    const next = new LightningState(tf.keep(S), state.tokens + T);
    state.dispose();
    return [out, next];
  }
}
