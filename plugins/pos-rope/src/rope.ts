/**
 * RoPE as a Weft positional encoding (RoFormer, arXiv 2104.09864): the `rotate` hook turns
 * q_m into f(q, m) = R^d_Θ,m q and k_n into f(k, n) = R^d_Θ,n k, so that (eq. 16)
 *   f(q, m)ᵀ f(k, n) = qᵀ R^d_Θ,n−m k
 * depends on the positions only through n − m. No parameters, no logit bias.
 *
 * Notation: see ./rotary.ts. Extra here:
 *   fraction   share of the head width that rotates (R = fraction · Dh, must be even);
 *              the other Dh − R dims carry content only (GPT-NeoX `rotary_pct`).
 *   s          positionScale: positions are divided by s before rotating (1 for plain RoPE;
 *              position interpolation in @weft/pos-rope-scaling).
 */
import { ConfigError, tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { applyRotary, rotaryAngles, type RotaryLayout } from './rotary.js';

export interface RotaryParams {
  /** Dh: width of each query/key head. */
  headDim: number;
  /** R: how many leading dims of a head rotate (even, ≤ Dh). */
  rotaryDim: number;
  layout: RotaryLayout;
  /** θ_i for i = 0 .. R/2-1. */
  invFreq: ArrayLike<number>;
  /** s: positions are divided by s (default 1). */
  positionScale?: number;
}

/**
 * R = fraction · Dh, checked to be an even whole number of dims. `path` is the config path
 * of the positional encoding, for the error message.
 */
export function rotaryDimFor(headDim: number, fraction: number, path: string): number {
  const exact = fraction * headDim;
  const R = Math.round(exact);
  if (Math.abs(exact - R) > 1e-9 || R % 2 !== 0) {
    const lower = 2 * Math.floor(exact / 2);
    const upper = lower + 2;
    const hint = [lower, upper].filter((r) => r >= 0 && r <= headDim).map((r) => `${r / headDim} (${r} dims)`).join(' or ');
    throw new ConfigError(
      `${path}.fraction`,
      `fraction ${fraction} of head width ${headDim} is ${exact} dims, but RoPE rotates dims in pairs: fraction · headDim must be an even integer. Use fraction ${hint}.`,
    );
  }
  return R;
}

export class RotaryEncoding implements PositionalEncoding {
  readonly headDim: number;
  readonly rotaryDim: number;
  readonly layout: RotaryLayout;
  readonly invFreq: Float64Array;
  readonly positionScale: number;

  constructor(params: RotaryParams) {
    this.headDim = params.headDim;
    this.rotaryDim = params.rotaryDim;
    this.layout = params.layout;
    this.invFreq = Float64Array.from(params.invFreq);
    this.positionScale = params.positionScale ?? 1;
    if (this.invFreq.length !== this.rotaryDim / 2) {
      throw new ConfigError('invFreq', `needs rotaryDim / 2 = ${this.rotaryDim / 2} frequencies; got ${this.invFreq.length}`);
    }
  }

  /** f(x, m): x [B, H, L, Dh], positions [B, L] -> [B, H, L, Dh]. */
  apply(x: Tensor, positions: Tensor): Tensor {
    return tf.tidy(() => applyRotary(x, rotaryAngles(positions, this.invFreq, this.positionScale), this.rotaryDim, this.layout));
  }

  /**
   * q [B, H, Lq, Dh] at qPositions [B, Lq]; k [B, Hkv, Lk, Dh] at kPositions [B, Lk]. During
   * cached decoding q and k are the T new tokens, at their absolute positions.
   */
  rotate(q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): [Tensor, Tensor] {
    return [this.apply(q, qPositions), this.apply(k, kPositions)];
  }
}
