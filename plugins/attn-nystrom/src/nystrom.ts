/**
 * Nyströmformer — Xiong et al., "Nyströmformer: A Nyström-Based Algorithm for Approximating
 * Self-Attention" (AAAI 2021, arXiv 2102.03902), eq. (14)-(16): softmax attention approximated
 * through m landmarks, O(n·m) time and memory.
 *
 * Notation (paper → code), per head, rows are positions:
 *   Q, K, V ∈ R^{n×d}     [B, H, n, Dh]; Q and K are each scaled by d^{-1/4} (here √scale, which
 *                         is d^{-1/4} for the mixer's default scale d^{-1/2})       `q`, `k`, `v`
 *   m                     number of landmarks (`landmarks`); n % m == 0 is required
 *   Q̃, K̃ ∈ R^{m×d}       landmarks: means of n/m consecutive rows of Q, K (eq. 14)  `qL`, `kL`
 *   F̃ = softmax(Q K̃ᵀ)    [B, H, n, m]                                          `kernel1`
 *   Ã = softmax(Q̃ K̃ᵀ)    [B, H, m, m]; Ã⁺ by the iterative pinv (eq. 16)        `kernel2`
 *   B̃ = softmax(Q̃ Kᵀ)    [B, H, m, n]                                          `kernel3`
 *   eq. (15):  Ŝ V = F̃ · Ã⁺ · (B̃ · V)                                        [B, H, n, Dv]
 *   skip:      + conv(V), a depthwise convolution over the sequence (reference `conv_kernel_size`)
 * m == n takes the exact path softmax(Q Kᵀ) V (as the reference code does); with an exact
 * pseudo-inverse the Nyström formula gives the same there (Q̃ = Q, K̃ = K, F̃ Ã⁺ B̃ = S S⁺ S = S).
 * Every output row depends on every key row, so the kernel is bidirectional only.
 */
import { Module, ShapeError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Rng, type Tensor } from '@weft/core';
import { DepthwiseConvSkip } from './conv-skip.js';
import { iterativePinv, type PinvInit } from './iterative-pinv.js';

export const NYSTROM_CAPABILITIES: AttentionCapabilities = {
  causal: false,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: false,
  weights: false,
};

export interface NystromSettings {
  landmarks: number;
  pinvIterations: number;
  pinvInit: PinvInit;
  /** Kernel size of the depthwise-conv skip on V; undefined = no skip. */
  convKernelSize?: number;
}

/** Segment means: x [B, H, n, D] → [B, H, m, D], landmark j = mean of rows j·n/m … (j+1)·n/m − 1 (eq. 14). */
export function segmentMeans(x: Tensor, m: number): Tensor {
  const [B, H, n, D] = x.shape as number[];
  return tf.mean(tf.reshape(x, [B, H, m, n / m, D]), 3); // [B, H, m, D]
}

/**
 * The op as a function (for gradient checks and tests), without the conv skip.
 * q, k [B, H, n, Dh]; v [B, H, n, Dv]; `scale` multiplies q·k (split as √scale on each).
 */
export function nystromAttention(q: Tensor, k: Tensor, v: Tensor, settings: Omit<NystromSettings, 'convKernelSize'>, scale: number | Tensor): Tensor {
  return tf.tidy(() => {
    const [, H, n] = q.shape as number[];
    const m = settings.landmarks;
    const root = typeof scale === 'number' ? Math.sqrt(scale) : tf.reshape(tf.sqrt(scale), [1, H, 1, 1]);
    const qs = tf.mul(q, root); // [B, H, n, Dh]  Q · d^{-1/4}
    const ks = tf.mul(k, root); // [B, H, n, Dh]  K · d^{-1/4}
    if (m === n) return tf.matMul(tf.softmax(tf.matMul(qs, ks, false, true)), v); // exact path
    const qL = segmentMeans(qs, m); // [B, H, m, Dh]
    const kL = segmentMeans(ks, m); // [B, H, m, Dh]
    const kernel1 = tf.softmax(tf.matMul(qs, kL, false, true)); // [B, H, n, m]
    const kernel2 = tf.softmax(tf.matMul(qL, kL, false, true)); // [B, H, m, m]
    const kernel3 = tf.softmax(tf.matMul(qL, ks, false, true)); // [B, H, m, n]
    const pinv = iterativePinv(kernel2, settings.pinvIterations, settings.pinvInit); // [B, H, m, m]
    return tf.matMul(tf.matMul(kernel1, pinv), tf.matMul(kernel3, v)); // [B, H, n, Dv]  eq. (15)
  });
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]); // [B, H, L, D]
}

/** The kernel: a core Module (its child `conv` — the optional depthwise skip — is adopted by the mixer). */
export class NystromAttention extends Module implements AttentionKernel {
  readonly supports = NYSTROM_CAPABILITIES;
  readonly conv?: DepthwiseConvSkip;

  constructor(readonly settings: NystromSettings, readonly heads: number, rng: Rng) {
    super();
    if (settings.convKernelSize !== undefined) this.conv = this.addModule('conv', new DepthwiseConvSkip(heads, settings.convKernelSize, rng));
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, Lq] = q.shape as number[];
    const n = (k.shape as number[])[2];
    const m = this.settings.landmarks;
    if (ctx.causal) throw new ShapeError('nystrom attention is bidirectional only (the landmarks average over all positions); use a causal kernel such as dense or linear for a decoder');
    if (ctx.keyPaddingMask) throw new ShapeError('nystrom attention: key padding is not supported (padded rows would enter the landmark means); use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('nystrom attention: an additive logit bias is not supported (the n×n logits are never formed)');
    if (Lq !== n) throw new ShapeError(`nystrom attention is self-attention: got ${Lq} queries for ${n} keys`);
    if (n % m !== 0) {
      throw new ShapeError(`nystrom attention: the sequence length ${n} is not a multiple of landmarks=${m} (each landmark is the mean of n/m consecutive tokens). Use inputs whose length is a multiple of ${m}, or set the attention option landmarks to a divisor of ${n}`);
    }
    if (this.conv && H !== this.heads) throw new ShapeError(`nystrom attention: the conv skip was built for ${this.heads} heads, got ${H}`);
    return tf.tidy(() => {
      const vFull = repeatHeads(v, H); // [B, H, n, Dv]
      const out = nystromAttention(q, repeatHeads(k, H), vFull, this.settings, ctx.scale); // [B, H, n, Dv]
      return this.conv ? tf.add(out, this.conv.forward(vFull)) : out;
    });
  }
}
