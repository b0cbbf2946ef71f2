/**
 * Linear attention — Katharopoulos et al., "Transformers are RNNs: Fast Autoregressive
 * Transformers with Linear Attention" (ICML 2020, arXiv 2006.16236).
 *
 * Notation (paper → code):
 *   φ(x) = elu(x) + 1            feature map (eq. 7)                         `phi`
 *   Q, K, V                      queries, keys, values [B, H, L, Dh]          `q`, `k`, `v`
 *   S_i = Σ_{j≤i} φ(K_j) V_jᵀ    running state, [Dh, Dv] per head (eq. 10)     `S`
 *   Z_i = Σ_{j≤i} φ(K_j)         running normaliser, [Dh] per head (eq. 11)    `z`
 *   V'_i = φ(Q_i)ᵀ S_i / (φ(Q_i)ᵀ Z_i + ε)                                  (eq. 9 causal,
 *                                 eq. 6 with the sums over all j when bidirectional)
 *   C                            chunk length of the parallel training form     `chunkSize`
 *
 * Conventions (fast-transformers, the paper's reference code): no 1/sqrt(Dh) scaling
 * (ctx.scale is ignored), ε = 1e-6 ADDED to the denominator, padded keys zeroed in φ(K).
 *
 * Causal training form ("chunkwise parallel"): split L into N = ⌈L/C⌉ chunks. For chunk n
 * with rows Q_n, K_n, V_n (after φ):
 *   num_n = tril(Q_n K_nᵀ) V_n + Q_n S_{<n}       den_n = rowsum(tril(Q_n K_nᵀ)) + Q_n z_{<n}
 *   S_{<n} = S_0 + Σ_{m<n} K_mᵀ V_m               z_{<n} = z_0 + Σ_{m<n} colsum(K_m)
 * (an exclusive prefix sum over chunks). C = 1 is the RNN of eq. 18-20; C ≥ L is the masked
 * quadratic form. Results do not depend on C beyond float rounding.
 *
 * Decoding: the kernel implements core's stateful-kernel contract. `initState` returns zero
 * (S, z) (a `LinearAttentionState`); `attendStep` continues the chunkwise form from that state
 * for the T new tokens and returns the state after them — O(1) memory per step. (`attend` with
 * Lq < Lk, queries aligned to the last keys, still folds the key prefix into (S_0, z_0) on the
 * fly, for callers that hold every key and value.)
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
import { LinearAttentionState } from './linear-state.js';

export interface LinearAttentionOptions {
  chunkSize: number;
  eps: number;
}

export const LINEAR_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: true,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

/** φ(x) = elu(x) + 1 > 0 (eq. 7). */
export function phi(x: Tensor): Tensor {
  return tf.add(tf.elu(x), 1);
}

/** Grouped-query attention: kv head g serves query heads g·H/Hkv .. (g+1)·H/Hkv - 1. */
export function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]);
}

/**
 * Σ_{m<n} x_m along axis 1 of x [BH, N, R], as a product with the strictly lower-triangular
 * ones matrix. (tf.cumsum would do, but tfjs 4.22's Cumsum gradient returns a transposed shape
 * for any axis but the last, so it cannot be trained through.)
 */
export function exclusivePrefixSum(x: Tensor): Tensor {
  const [BH, N] = x.shape as number[];
  const r = tf.range(0, N, 1, 'int32');
  const strict = tf.cast(tf.greater(tf.reshape(r, [N, 1]), tf.reshape(r, [1, N])), 'float32'); // [N, N], 1 where m < n
  return tf.matMul(tf.tile(tf.expandDims(strict, 0), [BH, 1, 1]), x); // [BH, N, R]
}

/**
 * The chunkwise causal product. fq, fk: φ(Q), φ(K) [B, H, L, D]; v [B, H, L, Dv];
 * optional initial state S0 [B, H, D, Dv], z0 [B, H, D]. Returns the output [B, H, L, Dv]
 * and the state after the last token.
 */
export function causalLinear(
  fq: Tensor,
  fk: Tensor,
  v: Tensor,
  chunkSize: number,
  eps: number,
  S0?: Tensor,
  z0?: Tensor,
): { out: Tensor; S: Tensor; z: Tensor } {
  const [B, H, L, D] = fq.shape as number[];
  const Dv = (v.shape as number[])[3];
  const C = Math.max(1, Math.min(chunkSize, L));
  const N = Math.ceil(L / C);
  const pad = N * C - L;
  // Zero rows after the end: a zero φ(K) row adds nothing to S or z (φ is applied before padding).
  const padRows = (t: Tensor) => (pad ? tf.pad(t, [[0, 0], [0, 0], [0, pad], [0, 0]]) : t);
  const q = tf.reshape(padRows(fq), [B * H, N, C, D]); // [BH, N, C, D]
  const k = tf.reshape(padRows(fk), [B * H, N, C, D]); // [BH, N, C, D]
  const vv = tf.reshape(padRows(v), [B * H, N, C, Dv]); // [BH, N, C, Dv]

  // Intra-chunk: masked product tril(Q_n K_nᵀ).
  const r = tf.range(0, C, 1, 'int32');
  const tril = tf.cast(tf.greaterEqual(tf.reshape(r, [C, 1]), tf.reshape(r, [1, C])), 'float32'); // [C, C]
  const A = tf.mul(tf.matMul(q, k, false, true), tril); // [BH, N, C, C]
  let num = tf.matMul(A, vv); // [BH, N, C, Dv]
  let den = tf.sum(A, -1); // [BH, N, C]

  // Inter-chunk: state carried from earlier chunks (exclusive prefix sums over n).
  const chunkS = tf.matMul(k, vv, true, false); // [BH, N, D, Dv]
  const chunkZ = tf.sum(k, 2); // [BH, N, D]
  let prevS = tf.reshape(exclusivePrefixSum(tf.reshape(chunkS, [B * H, N, D * Dv])), [B * H, N, D, Dv]); // [BH, N, D, Dv]
  let prevZ = exclusivePrefixSum(chunkZ); // [BH, N, D]
  let S = tf.sum(chunkS, 1); // [BH, D, Dv]
  let z = tf.sum(chunkZ, 1); // [BH, D]
  if (S0 && z0) {
    const s0 = tf.reshape(S0, [B * H, 1, D, Dv]);
    const zz0 = tf.reshape(z0, [B * H, 1, D]);
    prevS = tf.add(prevS, s0);
    prevZ = tf.add(prevZ, zz0);
    S = tf.add(S, tf.reshape(s0, [B * H, D, Dv]));
    z = tf.add(z, tf.reshape(zz0, [B * H, D]));
  }
  num = tf.add(num, tf.matMul(q, prevS)); // [BH, N, C, Dv]
  den = tf.add(den, tf.sum(tf.mul(q, tf.expandDims(prevZ, 2)), -1)); // [BH, N, C]

  const o = tf.div(num, tf.expandDims(tf.add(den, eps), -1)); // [BH, N, C, Dv]
  let out = tf.reshape(o, [B, H, N * C, Dv]); // [B, H, N·C, Dv]
  if (pad) out = tf.slice(out, [0, 0, 0, 0], [B, H, L, Dv]); // [B, H, L, Dv]
  return { out, S: tf.reshape(S, [B, H, D, Dv]), z: tf.reshape(z, [B, H, D]) };
}

/** Bidirectional form (eq. 6): one state over all keys. */
export function bidirectionalLinear(fq: Tensor, fk: Tensor, v: Tensor, eps: number): Tensor {
  const S = tf.matMul(fk, v, true, false); // [B, H, D, Dv]
  const z = tf.sum(fk, 2, true); // [B, H, 1, D]
  const den = tf.sum(tf.mul(fq, z), -1, true); // [B, H, Lq, 1]
  return tf.div(tf.matMul(fq, S), tf.add(den, eps)); // [B, H, Lq, Dv]
}

export class LinearAttention implements AttentionKernel {
  static readonly kind = 'linear';
  readonly supports = LINEAR_CAPABILITIES;

  constructor(readonly options: LinearAttentionOptions) {}

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    return tf.tidy(() => {
      const [, H, Lq] = q.shape as number[];
      const Lk = (k.shape as number[])[2];
      const { chunkSize, eps } = this.options;
      const fq = phi(q); // [B, H, Lq, Dh]
      let fk = repeatHeads(phi(k), H); // [B, H, Lk, Dh]
      const vv = repeatHeads(v, H); // [B, H, Lk, Dv]
      if (ctx.keyPaddingMask) fk = tf.mul(fk, tf.reshape(tf.cast(ctx.keyPaddingMask, 'float32'), [-1, 1, Lk, 1]));
      if (!ctx.causal) return bidirectionalLinear(fq, fk, vv, eps);
      // Queries aligned to the last Lq keys (bottom-right).
      const prefix = Lk - Lq;
      if (prefix < 0 || ctx.queryOffset !== prefix) {
        throw new ShapeError(
          `linear attention: causal attention needs queryOffset = Lk - Lq (queries aligned to the last keys); got queryOffset ${ctx.queryOffset} with Lq ${Lq}, Lk ${Lk}`,
        );
      }
      if (prefix === 0) return causalLinear(fq, fk, vv, chunkSize, eps).out;
      const [B, , , D] = fk.shape as number[];
      const Dv = (vv.shape as number[])[3];
      const kPre = tf.slice(fk, [0, 0, 0, 0], [B, H, prefix, D]); // [B, H, Lk-Lq, D]
      const vPre = tf.slice(vv, [0, 0, 0, 0], [B, H, prefix, Dv]);
      const S0 = tf.matMul(kPre, vPre, true, false); // [B, H, D, Dv]
      const z0 = tf.sum(kPre, 2); // [B, H, D]
      const kNew = tf.slice(fk, [0, 0, prefix, 0], [B, H, Lq, D]); // [B, H, Lq, D]
      const vNew = tf.slice(vv, [0, 0, prefix, 0], [B, H, Lq, Dv]);
      return causalLinear(fq, kNew, vNew, chunkSize, eps, S0, z0).out;
    });
  }

  /** Zero state (S_0 = 0, z_0 = 0) per key/value head. */
  initState(batch: number, dims: AttentionStateDims): LinearAttentionState {
    const { kvHeads, headDim } = dims;
    return new LinearAttentionState(tf.keep(tf.zeros([batch, kvHeads, headDim, headDim])), tf.keep(tf.zeros([batch, kvHeads, headDim])), 0);
  }

  /**
   * Causal decoding of T new tokens from the state (eq. 18-20, run chunkwise): q [B, H, T, Dh],
   * k [B, Hkv, T, Dh], v [B, Hkv, T, Dv]. Consumes `state`; returns [B, H, T, Dv] and the next state.
   */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof LinearAttentionState)) {
      throw new StateError('linear attention: attendStep needs the state from this kernel\'s initState (a LinearAttentionState); create the cache with model.initCache(batch)');
    }
    if (!ctx.causal) throw new ShapeError('linear attention: attendStep decodes causally; a bidirectional model has no decoding state');
    const [B, H, T, D] = q.shape as number[];
    const [Bk, Hkv, Tk] = k.shape as number[];
    const [Bs, Hs, Ds] = state.S.shape as number[];
    if (Tk !== T || Bk !== B) throw new ShapeError(`linear attention: attendStep expects as many new keys as new queries; got q [${q.shape}] and k [${k.shape}]`);
    if (Bs !== B || Hs !== Hkv || Ds !== D) {
      throw new StateError(`linear attention: the state holds S [${state.S.shape}] but the new keys are [${k.shape}]; the state belongs to another batch size or layer`);
    }
    const [out, S, z] = tf.tidy(() => {
      const { chunkSize, eps } = this.options;
      let fk = phi(k); // [B, Hkv, T, Dh]
      if (ctx.keyPaddingMask) fk = tf.mul(fk, tf.reshape(tf.cast(ctx.keyPaddingMask, 'float32'), [-1, 1, T, 1]));
      const S0 = repeatHeads(state.S, H); // [B, H, Dh, Dv]
      const z0 = tf.reshape(repeatHeads(tf.expandDims(state.z, -1), H), [B, H, D]); // [B, H, Dh]
      const o = causalLinear(phi(q), repeatHeads(fk, H), repeatHeads(v, H), chunkSize, eps, S0, z0).out; // [B, H, T, Dv]
      const S1 = tf.add(state.S, tf.matMul(fk, v, true, false)); // [B, Hkv, Dh, Dv]
      const z1 = tf.add(state.z, tf.sum(fk, 2)); // [B, Hkv, Dh]
      return [o, S1, z1];
    });
    const next = new LinearAttentionState(tf.keep(S), tf.keep(z), state.tokens + T);
    state.dispose();
    return [out, next];
  }
}
