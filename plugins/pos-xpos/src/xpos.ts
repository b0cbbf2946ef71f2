/**
 * xPos (Sun et al. 2022, "A Length-Extrapolatable Transformer", arXiv 2212.10554, §3.2–3.3):
 * RoPE whose planes also scale by ζ_i^(position/γ), so that q·k gains an exponential decay in
 * the relative distance and attention resolution improves when extrapolating.
 *
 * Notation (paper → code):
 *   d            head width Dh (all dims rotate)
 *   θ_i          = base^(-2i/d), the RoPE frequencies (pos-rope)             invFreq
 *   ζ_i          = (i/(d/2) + γ_ζ)/(1 + γ_ζ) = (2i + 0.4d)/(1.4d) for γ_ζ = 0.4   zeta[i] ∈ (0, 1)
 *   γ            scale base (the paper's γ in ζ^(n/γ); torchscale scale_base = 512) scaleBase
 *   n, m         query / key positions (absolute, used for the rotation angles)
 *   n̂ = n − c    centred position (used only in the decay exponent); c = `centre`
 *   f_q(q, n)    = R_Θ,n q ⊙ ζ^(n̂/γ)      (eq. 9, query side)
 *   f_k(k, m)    = R_Θ,m k ⊙ ζ^(−m̂/γ)     (eq. 9, key side)
 *   ⇒ f_q(q,n)·f_k(k,m) = Σ_i ζ_i^((n−m)/γ) · [rotated plane product at n − m]      (eq. 10)
 * The centre c cancels in every score; it only keeps the factors ζ^(±n̂/γ) near 1 so float32
 * does not overflow/underflow at long lengths. It must be the same for every call of a model
 * (cached keys keep their factor), so Weft uses a fixed c (default ⌊maxLen/2⌋).
 *
 * Shapes: B batch, H heads, L length, Dh head width, P = Dh/2 planes.
 */
import { tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { inverseFrequencies, rotaryAngles, rotatePairs, type RotaryLayout } from '@weft/pos-rope';

export interface XPosParams {
  headDim: number;
  base: number;
  /** γ: the scale base of ζ^(n/γ). */
  scaleBase: number;
  /** γ_ζ in ζ_i = (2i/d + γ_ζ)/(1 + γ_ζ) (0.4 in the paper). */
  gamma: number;
  /** c: positions are centred as n − c in the decay exponent. */
  centre: number;
  layout: RotaryLayout;
}

/** ζ_i = (2i/d + γ_ζ)/(1 + γ_ζ), i = 0 .. d/2-1. */
export function xposZeta(headDim: number, gamma: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => ((2 * i) / headDim + gamma) / (1 + gamma));
}

export class XPosEncoding implements PositionalEncoding {
  readonly invFreq: number[];
  readonly zeta: number[];

  constructor(readonly params: XPosParams) {
    this.invFreq = inverseFrequencies(params.headDim, params.base);
    this.zeta = xposZeta(params.headDim, params.gamma);
  }

  /** ζ^(sign·(n − c)/γ): positions [B, L] -> [B, 1, L, P]. */
  gain(positions: Tensor, sign: 1 | -1): Tensor {
    return tf.tidy(() => {
      const [B, L] = positions.shape as [number, number];
      const nHat = tf.sub(tf.cast(positions, 'float32'), this.params.centre); // [B, L]
      const exponent = tf.mul(tf.reshape(nHat, [B, L, 1]), sign / this.params.scaleBase); // [B, L, 1]
      const logZeta = tf.tensor1d(this.zeta.map(Math.log)).reshape([1, 1, -1]); // [1, 1, P]
      return tf.expandDims(tf.exp(tf.mul(exponent, logZeta)), 1); // [B, 1, L, P]
    });
  }

  /** f_q (sign +1) or f_k (sign −1): x [B, H, L, Dh] at positions [B, L]. */
  apply(x: Tensor, positions: Tensor, sign: 1 | -1): Tensor {
    return tf.tidy(() => rotatePairs(x, rotaryAngles(positions, this.invFreq), this.params.layout, this.gain(positions, sign)));
  }

  /** q [B, H, Lq, Dh] at qPositions [B, Lq]; k [B, Hkv, Lk, Dh] at kPositions [B, Lk]. */
  rotate(q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): [Tensor, Tensor] {
    return [this.apply(q, qPositions, 1), this.apply(k, kPositions, -1)];
  }
}
