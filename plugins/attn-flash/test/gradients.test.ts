/**
 * Gradients of the custom backward (FA2 Algorithm 2, recomputation from lse) equal the
 * gradients tfjs derives for a dense softmax attention written with plain ops in the test,
 * for both implementations on every backend; plus finite differences (gradCheck).
 */
import { Rng, tf, type AttentionContext, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck } from '@weft/core/testing';
import { biasFn, ctx, denseAttention, inputs, makeKernel, weightedSum } from './helpers.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

interface Case {
  name: string;
  dims: { B: number; H: number; Hkv?: number; Lq: number; Lk: number; Dh: number };
  ctx: () => Partial<AttentionContext>;
  dense: Parameters<typeof denseAttention>[3];
}

const bias = biasFn(2, 2);
const keep = (b: number, j: number) => (b === 0 ? j < 8 : j >= 2);
const pad = () => tf.tensor2d(Array.from({ length: 22 }, (_, x) => (keep(Math.floor(x / 11), x % 11) ? 1 : 0)), [2, 11]);
const seg = (_b: number, i: number) => (i < 4 ? 1 : 2);
const segIds = () => tf.tensor2d(Array.from({ length: 22 }, (_, x) => seg(0, x % 11)), [2, 11], 'int32');

const CASES: Case[] = [
  { name: 'causal', dims: { B: 2, H: 2, Lq: 11, Lk: 11, Dh: 4 }, ctx: () => ({ causal: true, scale: 0.5, queryOffset: 0 }), dense: { causal: true, scale: 0.5, queryOffset: 0 } },
  { name: 'bidirectional', dims: { B: 2, H: 2, Lq: 11, Lk: 11, Dh: 4 }, ctx: () => ({ causal: false, scale: 0.5 }), dense: { scale: 0.5 } },
  {
    name: 'bidirectional with padding',
    dims: { B: 2, H: 2, Lq: 11, Lk: 11, Dh: 4 },
    ctx: () => ({ causal: false, scale: 0.5, keyPaddingMask: pad() }),
    dense: { scale: 0.5, allowed: (b, _i, j) => keep(b, j) },
  },
  {
    name: 'causal with a logit bias',
    dims: { B: 2, H: 2, Lq: 11, Lk: 11, Dh: 4 },
    ctx: () => ({ causal: true, scale: 0.5, queryOffset: 0, logitBias: bias.lazy }),
    dense: { causal: true, scale: 0.5, queryOffset: 0, bias: bias.value },
  },
  {
    name: 'segments',
    dims: { B: 2, H: 2, Lq: 11, Lk: 11, Dh: 4 },
    ctx: () => ({ causal: true, scale: 0.5, queryOffset: 0, querySegmentIds: segIds(), keySegmentIds: segIds() }),
    dense: { causal: true, scale: 0.5, queryOffset: 0, allowed: (b, i, j) => seg(b, i) === seg(b, j) },
  },
  {
    name: 'GQA decode (Lq != Lk)',
    dims: { B: 1, H: 4, Hkv: 2, Lq: 5, Lk: 12, Dh: 4 },
    ctx: () => ({ causal: true, scale: 0.5, queryOffset: 7 }),
    dense: { causal: true, scale: 0.5, queryOffset: 7 },
  },
];

function ctxTensors(c: Partial<AttentionContext>): Tensor[] {
  return [c.keyPaddingMask, c.querySegmentIds, c.keySegmentIds].filter((t): t is Tensor => t != null);
}

describeWithBackends('flash gradients == dense attention gradients', () => {
  for (const implementation of ['tiled', 'fused'] as const) {
    describe(implementation, () => {
      const kernel = makeKernel({ blockQ: 4, blockK: 3, implementation });
      for (const c of CASES) {
        it(c.name, () => {
          const { q, k, v } = inputs(11, c.dims);
          const partial = c.ctx();
          const w = new Rng(12).normalTensor([c.dims.B, c.dims.H, c.dims.Lq, c.dims.Dh]);
          const before = tf.memory().numTensors;
          const gFlash = tf.grads((a: Tensor, b: Tensor, d: Tensor) => weightedSum(kernel.attend(a, b, d, ctx(partial)), w))([q, k, v]);
          expect(tf.memory().numTensors - before).toBe(3); // no leaks: only the three gradients remain
          const gDense = tf.grads((a: Tensor, b: Tensor, d: Tensor) => weightedSum(denseAttention(a, b, d, c.dense), w))([q, k, v]);
          gFlash.forEach((g, i) => expectTensorsClose(g, gDense[i], TOL));
          tf.dispose([q, k, v, w, ...gFlash, ...gDense, ...ctxTensors(partial)]);
        });
      }

      it('per-head scale tensor gets its gradient', () => {
        const dims = { B: 2, H: 3, Lq: 9, Lk: 9, Dh: 4 };
        const { q, k, v } = inputs(13, dims);
        const scale = tf.tensor1d([0.3, 0.6, 0.9]);
        const w = new Rng(14).normalTensor([2, 3, 9, 4]);
        const f = (s: Tensor, a: Tensor) => weightedSum(kernel.attend(a, k, v, ctx({ causal: true, scale: s, queryOffset: 0 })), w);
        const d = (s: Tensor, a: Tensor) => weightedSum(denseAttention(a, k, v, { causal: true, scale: s, queryOffset: 0 }), w);
        const gF = tf.grads(f)([scale, q]);
        const gD = tf.grads(d)([scale, q]);
        expectTensorsClose(gF[0], gD[0], TOL);
        expectTensorsClose(gF[1], gD[1], TOL);
        tf.dispose([q, k, v, scale, w, ...gF, ...gD]);
      });
    });
  }

  it('finite differences (gradCheck), tiled and fused, causal with padding', () => {
    const dims = { B: 1, H: 2, Lq: 5, Lk: 5, Dh: 3 };
    const { q, k, v } = inputs(15, dims);
    const w = new Rng(16).normalTensor([1, 2, 5, 3]);
    const mask = tf.tensor2d([[1, 1, 0, 1, 1]]);
    for (const implementation of ['tiled', 'fused']) {
      const kernel = makeKernel({ blockQ: 2, blockK: 2, implementation });
      const c = ctx({ causal: true, scale: 0.7, queryOffset: 0, keyPaddingMask: mask });
      gradCheck((a, b, d) => weightedSum(kernel.attend(a, b, d, c), w), [q, k, v], { eps: 1e-2, atol: 5e-3, rtol: 5e-3 });
    }
    tf.dispose([q, k, v, w, mask]);
  });
});
