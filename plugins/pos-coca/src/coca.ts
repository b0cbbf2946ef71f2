/**
 * CoCA — Collinear Constrained Attention (Zhu et al. 2023, arXiv 2309.08646).
 *
 * RoPE rotates q_m and k_n by their positions so q_mᵀ R_{n−m} k_n depends on n − m. Per rotary
 * plane i (a 2-vector), the angle between q and k is free, so the plane's score
 * |q||k| cos((m−n)θ_i + φ_i) is not monotone around the nearest tokens when φ_i ≠ 0 (the
 * paper's "headache": the initial angle φ_i between q and k mixes with the positional angle).
 * CoCA removes φ_i by constraining the key to be collinear with the query in every plane:
 *
 *   k_{m,n}^i = t_n^i · q_m^i,   t_n^i ≥ 0                         (collinear constraint)
 *   a(m, n)   = Σ_i (R_m q_m^i)ᵀ (R_n k_{m,n}^i)
 *             = Σ_i t_n^i |q_m^i|² cos((m − n) θ_i)                 (the CoCA score)
 *
 * The key now depends on the query it is scored against, but the score factorises into one
 * feature per query and one per key, which is how this package computes it in O(L·Dh) with the
 * ordinary `rotate` hook (no L×L×Dh tensor):
 *
 *   q̃_m^i = R_m (|q_m^i|², 0) = |q_m^i|² (cos mθ_i, sin mθ_i)
 *   k̃_n^i = R_n (t_n^i,   0) =   t_n^i  (cos nθ_i, sin nθ_i)
 *   q̃_mᵀ k̃_n = Σ_i t_n^i |q_m^i|² cos((m − n)θ_i) = a(m, n)
 *
 * and the kernel multiplies by 1/sqrt(Dh) as for any logits. Since the two features rotate by
 * their own positions only, cached decoding is exact.
 *
 * t from the key projection (the reference code's `t_proj`, which replaces `k_proj`): the
 * heads' key projection k_n is read as T_n, and per plane
 *
 *   t_n^i = ReLU((T_n[a_i] + T_n[b_i]) / 2)
 *
 * — the mean of the plane's two coordinates, then ReLU to keep t ≥ 0, as in the reference
 * (`(t1 + t2) / 2`, `relu`). This is the only learned part; it costs no extra parameters (the
 * key projection is reused as T).
 *
 * Not reproduced: the reference code's fused einsum `q · T_rot · q_rot` multiplies the three
 * tensors coordinate-wise; that is not the 2×2 plane product of the paper's constraint
 * (it differs when a plane's two coordinates differ), so we follow the math above.
 *
 * Notation (paper → code):
 *   m, n       query and key positions                           qPositions [B, Lq], kPositions [B, Lk]
 *   θ_i        base^(-2i/Dh), i = 0 .. P−1, P = Dh/2 planes       invFreq
 *   q_m^i      plane i of the query (dims a_i, b_i by layout)     qa, qb [B, H, Lq, P]
 *   T_n        the key projection, read as the slack T            k [B, Hkv, Lk, Dh]
 *   t_n^i      ≥ 0 collinear coefficient                          t [B, Hkv, Lk, P]
 *   q̃, k̃       the factorised features returned by `rotate`        [B, H, Lq, Dh], [B, Hkv, Lk, Dh]
 * Layout: 'half-split' pairs (i, i + P) as in the reference code (LLaMA / GPT-NeoX `rotate_half`),
 * or 'interleaved' pairs (2i, 2i+1).
 */
import { ConfigError, tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { inverseFrequencies, rotaryAngles, rotatePairs, type RotaryLayout } from '@weft/pos-rope';

export interface CocaParams {
  headDim: number;
  base: number;
  layout: RotaryLayout;
}

/** Split x [B, H, L, Dh] into the two coordinates of each plane: ([B, H, L, P], [B, H, L, P]). */
export function splitPlanes(x: Tensor, layout: RotaryLayout): [Tensor, Tensor] {
  return tf.tidy(() => {
    const [B, H, L, Dh] = x.shape as [number, number, number, number];
    const P = Dh / 2;
    if (layout === 'half-split') {
      return [tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, P]), tf.slice(x, [0, 0, 0, P], [-1, -1, -1, P])];
    }
    const pairs = tf.reshape(x, [B * H * L, P, 2]); // [BHL, P, 2]
    const a = tf.reshape(tf.slice(pairs, [0, 0, 0], [-1, -1, 1]), [B, H, L, P]); // [B, H, L, P]
    const b = tf.reshape(tf.slice(pairs, [0, 0, 1], [-1, -1, 1]), [B, H, L, P]); // [B, H, L, P]
    return [a, b];
  });
}

/** Inverse of splitPlanes: ([B, H, L, P], [B, H, L, P]) -> [B, H, L, 2P] in the given layout. */
export function mergePlanes(a: Tensor, b: Tensor, layout: RotaryLayout): Tensor {
  return tf.tidy(() => {
    if (layout === 'half-split') return tf.concat([a, b], 3); // [B, H, L, Dh]
    const [B, H, L, P] = a.shape as [number, number, number, number];
    const merged = tf.concat([tf.reshape(a, [B * H * L, P, 1]), tf.reshape(b, [B * H * L, P, 1])], 2); // [BHL, P, 2]
    return tf.reshape(merged, [B, H, L, 2 * P]); // [B, H, L, Dh]
  });
}

export class CocaEncoding implements PositionalEncoding {
  readonly headDim: number;
  readonly layout: RotaryLayout;
  readonly invFreq: number[];

  constructor(params: CocaParams, path = 'positional') {
    if (params.headDim % 2 !== 0) {
      throw new ConfigError(path, `CoCA works on rotary planes (pairs of dims), but the head width is ${params.headDim}, which is odd. Use an even head width (dModel / heads).`);
    }
    this.headDim = params.headDim;
    this.layout = params.layout;
    this.invFreq = inverseFrequencies(params.headDim, params.base);
  }

  /** t_n^i = ReLU((T[a_i] + T[b_i]) / 2) ≥ 0: the collinear coefficients, k [B, Hkv, Lk, Dh] -> [B, Hkv, Lk, P]. */
  coefficients(k: Tensor): Tensor {
    return tf.tidy(() => {
      const [ta, tb] = splitPlanes(k, this.layout);
      return tf.relu(tf.mul(tf.add(ta, tb), 0.5)); // [B, Hkv, Lk, P]
    });
  }

  /** q̃_m = R_m (|q_m^i|², 0) per plane: q [B, H, Lq, Dh] at positions [B, Lq] -> [B, H, Lq, Dh]. */
  queryFeatures(q: Tensor, positions: Tensor): Tensor {
    return tf.tidy(() => {
      const [qa, qb] = splitPlanes(q, this.layout);
      const norm2 = tf.add(tf.square(qa), tf.square(qb)); // |q_m^i|², [B, H, Lq, P]
      return rotatePairs(mergePlanes(norm2, tf.zerosLike(norm2), this.layout), rotaryAngles(positions, this.invFreq), this.layout);
    });
  }

  /** k̃_n = R_n (t_n^i, 0) per plane: k (= T) [B, Hkv, Lk, Dh] at positions [B, Lk] -> [B, Hkv, Lk, Dh]. */
  keyFeatures(k: Tensor, positions: Tensor): Tensor {
    return tf.tidy(() => {
      const t = this.coefficients(k); // [B, Hkv, Lk, P]
      return rotatePairs(mergePlanes(t, tf.zerosLike(t), this.layout), rotaryAngles(positions, this.invFreq), this.layout);
    });
  }

  /** Returns (q̃, k̃) with q̃_mᵀ k̃_n = Σ_i t_n^i |q_m^i|² cos((m − n)θ_i), the CoCA score. */
  rotate(q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): [Tensor, Tensor] {
    return [this.queryFeatures(q, qPositions), this.keyFeatures(k, kPositions)];
  }
}

/**
 * The constrained keys made explicit, for checking the constraint (O(Lq·Lk·Dh) memory — tests
 * and inspection only): K[b, h, m, n] = t_n ⊙ q_m per plane, before rotation, where t_n^i is
 * written to both coordinates of plane i. q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh] ->
 * [B, H, Lq, Lk, Dh]; query head h uses key head floor(h / (H / Hkv)).
 */
export function collinearKeys(encoding: CocaEncoding, q: Tensor, k: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, Dh] = q.shape as [number, number, number, number];
    const [, Hkv, Lk] = k.shape as [number, number, number, number];
    const t = encoding.coefficients(k); // [B, Hkv, Lk, P]
    const tFull = mergePlanes(t, t, encoding.layout); // [B, Hkv, Lk, Dh]
    const groups = tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv))), 'int32');
    const tPerHead = tf.gather(tFull, groups, 1); // [B, H, Lk, Dh]
    return tf.mul(tf.reshape(q, [B, H, Lq, 1, Dh]), tf.reshape(tPerHead, [B, H, 1, Lk, Dh])); // [B, H, Lq, Lk, Dh]
  });
}
