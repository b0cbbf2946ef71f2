/**
 * Galerkin and Fourier attention — Cao, "Choose a Transformer: Fourier or Galerkin"
 * (NeurIPS 2021, arXiv 2105.14995), eq. (2.3)-(2.4): softmax-free attention for operator
 * learning, normalised by the sequence length n instead of a softmax.
 *
 * Notation (paper → code), per head, rows are positions:
 *   Q, K, V ∈ R^{n×d}          [B, H, n, Dh]                                 `q`, `k`, `v`
 *   LN(·)                      layer norm over each row's d features, with a learned gain and
 *                              bias PER HEAD (the reference code's per-head nn.LayerNorm(d_k),
 *                              eps 1e-5)                                        `layerNorm`
 *   Galerkin:  z = Q (LN(K)ᵀ LN(V)) / n        (2.4)  — the d×d product first: O(n d²)
 *   Fourier:   z = (LN(Q) LN(K)ᵀ) V / n        (2.3)  — computed here as LN(Q)(LN(K)ᵀ V) / n,
 *                                                        the same value by associativity, O(n d²)
 * No softmax, no 1/√d (the mixer's scale is ignored). Both are bidirectional: every output
 * row depends on every key/value row, so there is no causal form and no decoding.
 */
import { init, Module, ShapeError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Rng, type Tensor } from '@weft/core';

export type GalerkinVariant = 'galerkin' | 'fourier';

export const GALERKIN_CAPABILITIES: AttentionCapabilities = {
  causal: false,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: false,
  weights: false,
};

/** Layer norm over the last axis of x [B, H, n, Dh] with per-head gain/bias [H, Dh]. */
export function headLayerNorm(x: Tensor, gain: Tensor, bias: Tensor, eps: number): Tensor {
  const H = (x.shape as number[])[1];
  const D = (x.shape as number[])[3];
  const { mean, variance } = tf.moments(x, -1, true); // [B, H, n, 1] each
  const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))); // [B, H, n, Dh]
  return tf.add(tf.mul(xhat, tf.reshape(gain, [1, H, 1, D])), tf.reshape(bias, [1, H, 1, D])); // [B, H, n, Dh]
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]);
}

/**
 * The op as a function, for gradient checks. q [B, H, m, Dh], k [B, H, n, Dh], v [B, H, n, Dv];
 * gains/biases [H, Dh] (galerkin: of K and V; fourier: of Q and K). Returns [B, H, m, Dv].
 */
export function galerkinAttention(
  variant: GalerkinVariant,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  norms: { gainA: Tensor; biasA: Tensor; gainB: Tensor; biasB: Tensor },
  eps: number,
): Tensor {
  return tf.tidy(() => {
    const n = (k.shape as number[])[2];
    if (variant === 'galerkin') {
      const kn = headLayerNorm(k, norms.gainA, norms.biasA, eps); // [B, H, n, Dh]
      const vn = headLayerNorm(v, norms.gainB, norms.biasB, eps); // [B, H, n, Dv]
      return tf.div(tf.matMul(q, tf.matMul(kn, vn, true, false)), n); // [B, H, m, Dv]  Q (LN(K)ᵀ LN(V)) / n
    }
    const qn = headLayerNorm(q, norms.gainA, norms.biasA, eps); // [B, H, m, Dh]
    const kn = headLayerNorm(k, norms.gainB, norms.biasB, eps); // [B, H, n, Dh]
    return tf.div(tf.matMul(qn, tf.matMul(kn, v, true, false)), n); // [B, H, m, Dv]  LN(Q) (LN(K)ᵀ V) / n
  });
}

/**
 * The kernel: a core Module holding the two per-head layer norms (gain init 1, bias init 0),
 * which the attention mixer adopts as children so they are trained and saved.
 * Galerkin normalises K and V (`normA` = K, `normB` = V); Fourier normalises Q and K.
 */
export class GalerkinAttention extends Module implements AttentionKernel {
  readonly supports = GALERKIN_CAPABILITIES;
  readonly gainA: tf.Variable;
  readonly biasA: tf.Variable;
  readonly gainB: tf.Variable;
  readonly biasB: tf.Variable;

  constructor(
    readonly variant: GalerkinVariant,
    readonly heads: number,
    readonly headDim: number,
    readonly eps: number,
    rng: Rng,
  ) {
    super();
    const [a, b] = variant === 'galerkin' ? ['normK', 'normV'] : ['normQ', 'normK'];
    this.gainA = this.addParameter(`${a}.gain`, [heads, headDim], init.ones(), rng);
    this.biasA = this.addParameter(`${a}.bias`, [heads, headDim], init.zeros(), rng);
    this.gainB = this.addParameter(`${b}.gain`, [heads, headDim], init.ones(), rng);
    this.biasB = this.addParameter(`${b}.bias`, [heads, headDim], init.zeros(), rng);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, , D] = q.shape as number[];
    if (ctx.causal) throw new ShapeError(`${this.variant} attention is bidirectional only (every output mixes all n positions); use a causal kernel such as dense or linear for a decoder`);
    if (ctx.keyPaddingMask) throw new ShapeError(`${this.variant} attention: key padding is not supported (the op divides by the full length n); use inputs of equal length`);
    if (H !== this.heads || D !== this.headDim || (v.shape as number[])[3] !== this.headDim) {
      throw new ShapeError(`${this.variant} attention: built for ${this.heads} heads of width ${this.headDim}, got q [${q.shape}], v [${v.shape}]`);
    }
    return tf.tidy(() =>
      galerkinAttention(this.variant, q, repeatHeads(k, H), repeatHeads(v, H), { gainA: this.gainA, biasA: this.biasA, gainB: this.gainB, biasB: this.biasB }, this.eps),
    );
  }
}
