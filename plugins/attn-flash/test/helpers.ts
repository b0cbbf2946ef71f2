/** Test helpers: inputs, contexts, and a dense attention written with plain tfjs ops. */
import { createRegistry, Rng, tf, type AttentionContext, type AttentionKernel, type Tensor } from '@weft/core';
import { makeAttentionContext } from '@weft/core/testing';
import flash, { type FlashAttention } from '../src/index.js';

export function makeKernel(options: Record<string, unknown> = {}): FlashAttention {
  return createRegistry().use(flash).create('attention', { kind: 'flash', ...options }) as AttentionKernel as FlashAttention;
}

export function inputs(seed: number, dims: { B: number; H: number; Hkv?: number; Lq: number; Lk: number; Dh: number; Dv?: number }) {
  const rng = new Rng(seed);
  const { B, H, Lq, Lk, Dh } = dims;
  const Hkv = dims.Hkv ?? H;
  const Dv = dims.Dv ?? Dh;
  return { q: rng.normalTensor([B, H, Lq, Dh]), k: rng.normalTensor([B, Hkv, Lk, Dh]), v: rng.normalTensor([B, Hkv, Lk, Dv]) };
}

export function ctx(overrides: Partial<AttentionContext>): AttentionContext {
  return makeAttentionContext(overrides);
}

/** An ALiBi-like lazy bias: -slope_h·|i - j| (+ a per-batch offset so every axis matters). */
export function biasFn(H: number, B = 1) {
  const slopes = Array.from({ length: H }, (_, h) => 0.25 / (h + 1));
  return {
    value: (b: number, h: number, i: number, j: number) => -slopes[h] * Math.abs(i - j) + 0.1 * b,
    lazy: (qr: { start: number; end: number }, kr: { start: number; end: number }): Tensor =>
      tf.tidy(() => {
        const i = tf.range(qr.start, qr.end).reshape([1, 1, -1, 1]);
        const j = tf.range(kr.start, kr.end).reshape([1, 1, 1, -1]);
        const s = tf.tensor1d(slopes).reshape([1, H, 1, 1]);
        const b = tf.range(0, B).mul(0.1).reshape([B, 1, 1, 1]);
        return tf.abs(tf.sub(i, j)).mul(s).neg().add(b); // [B, H, Lq_tile, Lk_tile]
      }),
  };
}

/**
 * softmax(scale·QKᵀ + bias + mask)V with dense tfjs ops (an L×L tensor), the reference for
 * gradients. `allowed(b, i, j)` is built into a [B, 1, Lq, Lk] mask by hand (masked -> -1e9).
 */
export function denseAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: {
    scale: number | Tensor;
    causal?: boolean;
    queryOffset?: number;
    allowed?: (b: number, i: number, j: number) => boolean;
    bias?: (b: number, h: number, i: number, j: number) => number;
  },
): Tensor {
  const [B, H, Lq] = q.shape;
  const [, Hkv, Lk] = k.shape;
  const G = H / Hkv;
  const heads = Array.from({ length: H }, (_, h) => Math.floor(h / G));
  const idx = tf.tensor1d(heads, 'int32');
  const kk = tf.gather(k, idx, 1); // [B, H, Lk, Dh]
  const vv = tf.gather(v, idx, 1);
  const off = o.queryOffset ?? Lk - Lq;
  const mask = new Float32Array(B * Lq * Lk);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Lq; i++)
      for (let j = 0; j < Lk; j++) {
        const ok = (!o.causal || j <= i + off) && (!o.allowed || o.allowed(b, i, j));
        mask[(b * Lq + i) * Lk + j] = ok ? 0 : -1e9;
      }
  const scale = typeof o.scale === 'number' ? o.scale : o.scale.reshape([1, H, 1, 1]);
  let s = tf.mul(tf.matMul(q, kk, false, true), scale).add(tf.tensor4d(mask, [B, 1, Lq, Lk]));
  if (o.bias) {
    const bias = new Float32Array(B * H * Lq * Lk);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) bias[((b * H + h) * Lq + i) * Lk + j] = o.bias(b, h, i, j);
    s = s.add(tf.tensor4d(bias, [B, H, Lq, Lk]));
  }
  idx.dispose();
  return tf.matMul(tf.softmax(s), vv);
}

/** A fixed random projection so the loss touches every output element differently. */
export function weightedSum(out: Tensor, w: Tensor): tf.Scalar {
  return tf.sum(tf.mul(out, w)) as tf.Scalar;
}
