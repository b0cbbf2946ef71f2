/**
 * Rotary position embedding math (RoFormer, Su et al. 2021, arXiv 2104.09864, §3.2–3.4).
 * Shared by the whole rotary family (xPos, Giraffe scaling, CoCA import these helpers).
 *
 * Notation (paper → code):
 *   d        number of rotated dims of a head (the paper's d)          rotaryDim (R); R ≤ Dh
 *   θ_i      = base^(-2i/d), i = 0 .. d/2-1  (eq. 15)                  invFreq[i]   (P = R/2 of them)
 *   m        a token's position                                         positions [B, L]
 *   m·θ_i    rotation angle of pair i                                    angles [B, 1, L, P]
 *   R^d_Θ,m  block-diagonal rotation, one 2×2 block per pair (eq. 15)
 *   f(x, m)  = R^d_Θ,m x  (eq. 16), computed as in eq. 34:
 *              (x_a, x_b) ↦ (x_a cos mθ_i − x_b sin mθ_i,  x_a sin mθ_i + x_b cos mθ_i)
 *   g        optional per-pair gain multiplying both outputs of a pair (xPos's ζ^(n/γ) decay);
 *            a gain commutes with a 2×2 rotation, so rotation-then-scale == scale-then-rotation.
 *
 * Which dims form the pair (a, b) of plane i is the layout:
 *   'interleaved'  a = 2i,  b = 2i+1     (the paper's eq. 15/34, GPT-J, torchscale, x-transformers)
 *   'half-split'   a = i,   b = i + d/2  (GPT-NeoX, Hugging Face LLaMA "rotate_half")
 * The two differ by a fixed permutation of the head dims (see the README).
 *
 * Shapes: B batch, H heads (H or Hkv), L length, Dh head width, R rotated dims, P = R/2 planes.
 */
import { tf, type Tensor } from '@weft/core';

export type RotaryLayout = 'interleaved' | 'half-split';
export const ROTARY_LAYOUTS = ['interleaved', 'half-split'] as const;

/** θ_i = base^(-2i/d) for i = 0 .. d/2-1 (eq. 15), as float64 numbers. */
export function inverseFrequencies(rotaryDim: number, base: number): number[] {
  return Array.from({ length: rotaryDim / 2 }, (_, i) => Math.pow(base, (-2 * i) / rotaryDim));
}

/**
 * Angles m·θ_i for each position: [B, L] positions -> [B, 1, L, P] (broadcasts over heads).
 * `positionScale` s divides the positions first (m/s: position interpolation).
 */
export function rotaryAngles(positions: Tensor, invFreq: ArrayLike<number>, positionScale = 1): Tensor {
  return tf.tidy(() => {
    const [B, L] = positions.shape as [number, number];
    let m = tf.cast(positions, 'float32'); // [B, L]
    if (positionScale !== 1) m = tf.div(m, positionScale);
    const theta = tf.tensor1d(Float32Array.from(invFreq)); // [P]
    const angles = tf.mul(tf.reshape(m, [B, L, 1]), tf.reshape(theta, [1, 1, -1])); // [B, L, P]
    return tf.expandDims(angles, 1); // [B, 1, L, P]
  });
}

/**
 * Rotate the R = 2P dims of x ([B, H, L, R]) by the angles ([B or 1, 1, L, P]), pair by pair,
 * optionally multiplying each pair by a gain ([B or 1, 1, L, P]).
 */
export function rotatePairs(x: Tensor, angles: Tensor, layout: RotaryLayout, gain?: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, L, R] = x.shape as [number, number, number, number];
    const P = R / 2;
    let cos = tf.cos(angles); // [B, 1, L, P]
    let sin = tf.sin(angles);
    if (gain) {
      cos = tf.mul(cos, gain);
      sin = tf.mul(sin, gain);
    }
    let xa: Tensor, xb: Tensor; // each [B, H, L, P]
    if (layout === 'interleaved') {
      const pairs = tf.reshape(x, [B * H * L, P, 2]); // [BHL, P, 2]
      xa = tf.reshape(tf.slice(pairs, [0, 0, 0], [-1, -1, 1]), [B, H, L, P]);
      xb = tf.reshape(tf.slice(pairs, [0, 0, 1], [-1, -1, 1]), [B, H, L, P]);
    } else {
      xa = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, P]);
      xb = tf.slice(x, [0, 0, 0, P], [-1, -1, -1, P]);
    }
    // eq. 34: (x_a cos − x_b sin, x_a sin + x_b cos)
    const ya = tf.sub(tf.mul(xa, cos), tf.mul(xb, sin)); // [B, H, L, P]
    const yb = tf.add(tf.mul(xa, sin), tf.mul(xb, cos)); // [B, H, L, P]
    if (layout === 'interleaved') {
      const merged = tf.concat([tf.reshape(ya, [B * H * L, P, 1]), tf.reshape(yb, [B * H * L, P, 1])], 2); // [BHL, P, 2]
      return tf.reshape(merged, [B, H, L, R]); // [B, H, L, R]
    }
    return tf.concat([ya, yb], 3); // [B, H, L, R]
  });
}

/**
 * f(x, m) on a whole head: rotate the first `rotaryDim` dims of x ([B, H, L, Dh]) and pass the
 * remaining Dh − rotaryDim through unchanged (partial rotary, GPT-NeoX `rotary_pct`).
 */
export function applyRotary(x: Tensor, angles: Tensor, rotaryDim: number, layout: RotaryLayout, gain?: Tensor): Tensor {
  return tf.tidy(() => {
    const Dh = x.shape[3] as number;
    if (rotaryDim === 0) return tf.clone(x);
    if (rotaryDim === Dh) return rotatePairs(x, angles, layout, gain);
    const rot = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, rotaryDim]); // [B, H, L, R]
    const pass = tf.slice(x, [0, 0, 0, rotaryDim], [-1, -1, -1, Dh - rotaryDim]); // [B, H, L, Dh-R]
    return tf.concat([rotatePairs(rot, angles, layout, gain), pass], 3); // [B, H, L, Dh]
  });
}
