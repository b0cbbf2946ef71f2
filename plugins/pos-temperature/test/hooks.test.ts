/**
 * The hooks, composed as the attention mixer composes them (rotate, then logits × Dh^-1/2 ×
 * logitScale, + bias), equal the papers' formulas written as naive loops.
 */
import { Rng, tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { AlibiBias } from '@weft/pos-alibi';
import { RotaryEncoding, inverseFrequencies } from '@weft/pos-rope';
import { AlignedTemperature, LognScaling, TempScale } from '../src/index.js';

/** What the mixer computes from an encoding's hooks: [B, H, Lq, Lk] logits (same H for q and k). */
function hookLogits(enc: PositionalEncoding, q: Tensor, k: Tensor, qPos: Tensor, kPos: Tensor, ctx: ForwardContext): Tensor {
  return tf.tidy(() => {
    const Dh = q.shape[3] as number;
    const [q2, k2] = enc.rotate ? enc.rotate(q, k, qPos, kPos, ctx) : [q, k];
    const extra = enc.logitScale?.(ctx, q.shape[2] as number) ?? 1;
    let logits = tf.mul(tf.matMul(q2, k2, false, true), (typeof extra === 'number' ? extra : extra.dataSync()[0]) / Math.sqrt(Dh));
    if (enc.bias) logits = tf.add(logits, enc.bias(qPos, kPos, { ...ctx, x: undefined }));
    return logits;
  });
}

/** Naive q_i·k_j / sqrt(Dh) · s_i (+ b_ij) in float64 loops. */
function naiveLogits(q: Tensor, k: Tensor, rowScale: (b: number, i: number) => number, bias?: (b: number, h: number, i: number, j: number) => number): Float64Array {
  const [B, H, Lq, Dh] = q.shape as number[];
  const Lk = k.shape[2] as number;
  const qd = q.dataSync();
  const kd = k.dataSync();
  const out = new Float64Array(B * H * Lq * Lk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++)
        for (let j = 0; j < Lk; j++) {
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += qd[((b * H + h) * Lq + i) * Dh + d] * kd[((b * H + h) * Lk + j) * Dh + d];
          out[((b * H + h) * Lq + i) * Lk + j] = (dot / Math.sqrt(Dh)) * rowScale(b, i) + (bias ? bias(b, h, i, j) : 0);
        }
  return out;
}

describeWithBackends('pos-temperature hooks', () => {
  const rng = new Rng(5);
  const B = 2, H = 2, L = 6, Dh = 4;
  const ctxOf = (overrides: Partial<ForwardContext> = {}) => makeForwardContext(B, L, overrides);

  it('logn, causal: row i is multiplied by ln(n_i) with n_i = position_i + 1 (packed rows restart)', () => {
    const enc = new LognScaling({ base: Math.E });
    const q = rng.normalTensor([B, H, L, Dh]);
    const k = rng.normalTensor([B, H, L, Dh]);
    const posRows = [[0, 1, 2, 3, 4, 5], [0, 1, 2, 0, 1, 2]]; // row 1: two packed sequences
    const pos = tf.tensor2d(posRows, [B, L], 'int32');
    const ctx = ctxOf({ positions: pos });
    const got = hookLogits(enc, q, k, pos, pos, ctx);
    expectTensorsClose(got, naiveLogits(q, k, (b, i) => Math.log(posRows[b][i] + 1)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, pos, got]);
  });

  it('logn, decode step: the new queries at positions 7, 8 see 8 and 9 keys', () => {
    const enc = new LognScaling({ base: 2 });
    const q = rng.normalTensor([1, H, 2, Dh]);
    const k = rng.normalTensor([1, H, 9, Dh]);
    const qPos = tf.tensor2d([[7, 8]], [1, 2], 'int32');
    const kPos = tf.range(0, 9, 1, 'int32').expandDims(0);
    const got = hookLogits(enc, q, k, qPos, kPos, makeForwardContext(1, 2, { positions: qPos }));
    expectTensorsClose(got, naiveLogits(q, k, (_b, i) => Math.log2(8 + i)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, qPos, kPos, got]);
  });

  it('logn, bidirectional: n is the unpadded length of each batch row; trainLength normalises to 1 at that length', () => {
    const enc = new LognScaling({ base: Math.E, trainLength: 4 });
    const q = rng.normalTensor([B, H, L, Dh]);
    const k = rng.normalTensor([B, H, L, Dh]);
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], [B, L]);
    const ctx = ctxOf({ causal: false, paddingMask: mask });
    const got = hookLogits(enc, q, k, ctx.positions, ctx.positions, ctx);
    expectTensorsClose(got, naiveLogits(q, k, (b) => Math.log(b === 0 ? 6 : 4) / Math.log(4)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, mask, got, ctx.positions]);
  });

  it('logn wrapping RoPE: rotation first, then the per-row factor', () => {
    const rope = new RotaryEncoding({ headDim: Dh, rotaryDim: Dh, layout: 'interleaved', invFreq: inverseFrequencies(Dh, 10000) });
    const enc = new LognScaling({ base: Math.E }, rope);
    const q = rng.normalTensor([B, H, L, Dh]);
    const k = rng.normalTensor([B, H, L, Dh]);
    const ctx = ctxOf();
    const got = hookLogits(enc, q, k, ctx.positions, ctx.positions, ctx);
    const [qr, kr] = rope.rotate(q, k, ctx.positions, ctx.positions);
    expectTensorsClose(got, naiveLogits(qr, kr, (_b, i) => Math.log(i + 1)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, qr, kr, got, ctx.positions]);
  });

  for (const [name, make] of [
    ['align', (t: number, inner?: PositionalEncoding) => new AlignedTemperature(t, inner)],
    ['tempscale', (t: number, inner?: PositionalEncoding) => new TempScale(t, inner)],
  ] as const) {
    it(`${name}: logits × 1/τ, and an inner ALiBi bias is added unscaled`, () => {
      const q = rng.normalTensor([B, H, L, Dh]);
      const k = rng.normalTensor([B, H, L, Dh]);
      const ctx = ctxOf();
      const plain = hookLogits(make(0.8), q, k, ctx.positions, ctx.positions, ctx);
      expectTensorsClose(plain, naiveLogits(q, k, () => 1 / 0.8), { atol: 1e-5, rtol: 1e-4 });
      const alibi = new AlibiBias(H);
      const withBias = hookLogits(make(0.5, alibi), q, k, ctx.positions, ctx.positions, ctx);
      expectTensorsClose(withBias, naiveLogits(q, k, () => 2, (_b, h, i, j) => -alibi.slopes[h] * Math.abs(i - j)), { atol: 1e-5, rtol: 1e-4 });
      expect(make(1).logitScale(ctx, L)).toBe(1); // τ = 1: no scaling
      tf.dispose([q, k, plain, withBias, ctx.positions]);
    });
  }
});
