/**
 * flash == naive softmax attention (core/testing's float64 loops), for both implementations
 * on every backend: odd lengths, decode alignment, GQA, padding, segments, bias, per-head
 * scale, Dv != Dh, block sizes, and the logsumexp.
 */
import { tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, naiveAttention, type NaiveAttentionOptions } from '@weft/core/testing';
import { biasFn, ctx, inputs, makeKernel } from './helpers.js';

const TOL = { atol: 1e-5, rtol: 1e-4 };

type Dims = { B: number; H: number; Hkv?: number; Lq: number; Lk: number; Dh: number; Dv?: number };
const naive = (q: Tensor, k: Tensor, v: Tensor, d: Dims, o: NaiveAttentionOptions) => naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), d, o);

describeWithBackends('flash == naive attention', () => {
  for (const implementation of ['tiled', 'fused'] as const) {
    describe(implementation, () => {
      const kernel = makeKernel({ blockQ: 4, blockK: 3, implementation });

      it('odd lengths (L not a multiple of the tiles), causal and bidirectional, Dv != Dh', () => {
        const d = { B: 2, H: 3, Lq: 13, Lk: 13, Dh: 5, Dv: 7 };
        const { q, k, v } = inputs(1, d);
        for (const causal of [true, false]) {
          const out = kernel.attend(q, k, v, ctx({ causal, scale: 0.4, queryOffset: 0 }));
          expect(out.shape).toEqual([2, 3, 13, 7]);
          expectTensorsClose(out, naive(q, k, v, d, { causal, scale: 0.4, queryOffset: 0 }), TOL);
          out.dispose();
        }
        tf.dispose([q, k, v]);
      });

      it('decode: Lq != Lk with bottom-right and custom queryOffset', () => {
        const d = { B: 1, H: 2, Lq: 3, Lk: 14, Dh: 8 };
        const { q, k, v } = inputs(2, d);
        for (const queryOffset of [11, 5, 0]) {
          const out = kernel.attend(q, k, v, ctx({ causal: true, scale: 1 / Math.sqrt(8), queryOffset }));
          expectTensorsClose(out, naive(q, k, v, d, { causal: true, queryOffset }), TOL);
          out.dispose();
        }
        tf.dispose([q, k, v]);
      });

      it('GQA: query head h reads kv head floor(h / (H / Hkv))', () => {
        for (const Hkv of [2, 1]) {
          const d = { B: 2, H: 4, Hkv, Lq: 9, Lk: 9, Dh: 4 };
          const { q, k, v } = inputs(3 + Hkv, d);
          const out = kernel.attend(q, k, v, ctx({ causal: true, scale: 0.5, queryOffset: 0 }));
          expectTensorsClose(out, naive(q, k, v, d, { causal: true, scale: 0.5, queryOffset: 0 }), TOL);
          tf.dispose([q, k, v, out]);
        }
      });

      it('key padding (including fully masked rows -> 0) and segment ids', () => {
        const d = { B: 2, H: 2, Lq: 10, Lk: 10, Dh: 4 };
        const { q, k, v } = inputs(5, d);
        const keep = (b: number, j: number) => (b === 0 ? j < 7 : j >= 4); // batch 1: queries 0..3 see nothing when causal
        const pad = tf.tensor2d(Array.from({ length: 20 }, (_, x) => (keep(Math.floor(x / 10), x % 10) ? 1 : 0)), [2, 10]);
        const seg = (b: number, i: number) => (b === 0 ? (i < 3 ? 0 : i < 8 ? 1 : 2) : i < 6 ? 5 : 9);
        const segIds = tf.tensor2d(Array.from({ length: 20 }, (_, x) => seg(Math.floor(x / 10), x % 10)), [2, 10], 'int32');
        const out = kernel.attend(q, k, v, ctx({ causal: true, scale: 0.5, queryOffset: 0, keyPaddingMask: pad }));
        const ref = naive(q, k, v, d, { causal: true, scale: 0.5, queryOffset: 0, allowed: (b, _i, j) => keep(b, j) });
        expectTensorsClose(out, ref, TOL);
        expect(Array.from(out.slice([1, 0, 0, 0], [1, 2, 4, 4]).dataSync()).every((x) => x === 0)).toBe(true);
        const segOut = kernel.attend(q, k, v, ctx({ causal: false, scale: 0.5, querySegmentIds: segIds, keySegmentIds: segIds, keyPaddingMask: pad }));
        const segRef = naive(q, k, v, d, { scale: 0.5, allowed: (b, i, j) => seg(b, i) === seg(b, j) && keep(b, j) });
        expectTensorsClose(segOut, segRef, TOL);
        tf.dispose([q, k, v, pad, segIds, out, segOut]);
      });

      it('lazy logit bias per (batch, head) tile', () => {
        const d = { B: 2, H: 3, Lq: 11, Lk: 11, Dh: 4 };
        const { q, k, v } = inputs(6, d);
        const bias = biasFn(3, 2);
        for (const causal of [true, false]) {
          const out = kernel.attend(q, k, v, ctx({ causal, scale: 0.5, queryOffset: 0, logitBias: bias.lazy }));
          expectTensorsClose(out, naive(q, k, v, d, { causal, scale: 0.5, queryOffset: 0, bias: bias.value }), TOL);
          out.dispose();
        }
        tf.dispose([q, k, v]);
      });

      it('per-head scale tensor [H]', () => {
        const d = { B: 2, H: 3, Lq: 7, Lk: 7, Dh: 4 };
        const { q, k, v } = inputs(7, d);
        const scales = [0.2, 0.7, 1.3];
        const scale = tf.tensor1d(scales);
        const out = kernel.attend(q, k, v, ctx({ causal: true, scale, queryOffset: 0 }));
        // Reference: each head on its own with its scale.
        for (let h = 0; h < 3; h++) {
          const pick = (t: Tensor) => t.slice([0, h, 0, 0], [2, 1, 7, 4]);
          const [qh, kh, vh, oh] = [pick(q), pick(k), pick(v), pick(out)];
          expectTensorsClose(oh, naive(qh, kh, vh, { ...d, H: 1 }, { causal: true, scale: scales[h], queryOffset: 0 }), TOL);
          tf.dispose([qh, kh, vh, oh]);
        }
        tf.dispose([q, k, v, scale, out]);
      });

      it('logsumexp equals log Σ exp(logits) (+inf on fully masked rows)', () => {
        const d = { B: 1, H: 2, Lq: 6, Lk: 6, Dh: 3 };
        const { q, k, v } = inputs(8, d);
        const pad = tf.tensor2d([[0, 0, 1, 1, 1, 1]]);
        const { out, lse } = kernel.attendWithLse(q, k, v, ctx({ causal: true, scale: 0.6, queryOffset: 0, keyPaddingMask: pad }));
        const [qa, ka] = [q.arraySync() as number[][][][], k.arraySync() as number[][][][]];
        const expected: number[] = [];
        for (let h = 0; h < 2; h++)
          for (let i = 0; i < 6; i++) {
            let sum = 0;
            for (let j = 2; j <= i; j++) sum += Math.exp(0.6 * qa[0][h][i].reduce((a, x, e) => a + x * ka[0][h][j][e], 0));
            expected.push(sum === 0 ? Infinity : Math.log(sum));
          }
        expect(lse.shape).toEqual([1, 2, 6]);
        expectTensorsClose(lse, expected, TOL);
        tf.dispose([q, k, v, pad, out, lse]);
      });
    });
  }

  it('invariant to the block sizes; fused == tiled', () => {
    const d = { B: 1, H: 2, Lq: 37, Lk: 37, Dh: 8 };
    const { q, k, v } = inputs(9, d);
    const c = ctx({ causal: true, scale: 0.35, queryOffset: 0 });
    const ref = naive(q, k, v, d, { causal: true, scale: 0.35, queryOffset: 0 });
    for (const implementation of ['tiled', 'fused']) {
      for (const [blockQ, blockK] of [[1, 1], [4, 3], [16, 5], [64, 64]]) {
        const out = makeKernel({ blockQ, blockK, implementation }).attend(q, k, v, c);
        expectTensorsClose(out, ref, TOL);
        out.dispose();
      }
    }
    const a = makeKernel({ implementation: 'tiled', blockQ: 8, blockK: 8 }).attend(q, k, v, c);
    const b = makeKernel({ implementation: 'fused', blockQ: 8, blockK: 8 }).attend(q, k, v, c);
    expectTensorsClose(a, b, TOL);
    tf.dispose([q, k, v, a, b]);
  });
});
