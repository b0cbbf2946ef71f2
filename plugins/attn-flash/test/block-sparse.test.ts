/**
 * Block-sparse FlashAttention (FlashAttention-1, Sec. 3.3): equals dense attention with the
 * element mask that the block mask M̃ expands to (built by hand here), forward and
 * gradients; differs from full attention (the tiles really are skipped).
 */
import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, naiveAttention } from '@weft/core/testing';
import { ctx, denseAttention, inputs, makeKernel, weightedSum } from './helpers.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

describeWithBackends('block-sparse flash', () => {
  const d = { B: 1, H: 2, Lq: 14, Lk: 14, Dh: 4 };
  const bq = 4;
  const bk = 3;
  // Tile grid: 4 query tiles (rows 0-3, 4-7, 8-11, 12-13) × 5 key tiles (cols 0-2, 3-5, ...).
  const patterns: { name: string; mask: object; allowed: (i: number, j: number) => boolean }[] = [
    { name: 'local, windowBlocks 1', mask: { kind: 'local', windowBlocks: 1 }, allowed: (i, j) => Math.abs(Math.floor(i / bq) - Math.floor(j / bk)) <= 1 },
    {
      name: 'explicit pairs',
      mask: { kind: 'pairs', pairs: [[0, 0], [1, 0], [1, 2], [2, 4], [3, 1], [3, 4]] },
      allowed: (i, j) => {
        const key = `${Math.floor(i / bq)},${Math.floor(j / bk)}`;
        return ['0,0', '1,0', '1,2', '2,4', '3,1', '3,4'].includes(key);
      },
    },
  ];
  for (const implementation of ['tiled', 'fused'] as const) {
    for (const p of patterns) {
      for (const causal of [false, true]) {
        it(`${implementation}, ${p.name}, ${causal ? 'causal' : 'bidirectional'}: == dense with the expanded mask (fwd + grads)`, () => {
          const kernel = makeKernel({ blockQ: bq, blockK: bk, implementation, blockMask: p.mask });
          const { q, k, v } = inputs(21, d);
          const c = ctx({ causal, scale: 0.5, queryOffset: 0 });
          const out = kernel.attend(q, k, v, c);
          const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), d, { causal, scale: 0.5, queryOffset: 0, allowed: (_b, i, j) => p.allowed(i, j) });
          expectTensorsClose(out, ref, TOL);
          const full = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), d, { causal, scale: 0.5, queryOffset: 0 });
          const diff = Math.max(...Array.from(out.dataSync(), (x, i) => Math.abs(x - full[i])));
          expect(diff).toBeGreaterThan(1e-2); // not silently dense
          const w = new Rng(22).normalTensor([1, 2, 14, 4]);
          const denseOpts = { causal, scale: 0.5, queryOffset: 0, allowed: (_b: number, i: number, j: number) => p.allowed(i, j) };
          // Rows with no allowed key output 0 in flash but uniform weights in the dense softmax: weight them 0.
          const rowHasKey = Array.from({ length: 14 }, (_, i) => Array.from({ length: 14 }, (_, j) => j).some((j) => p.allowed(i, j) && (!causal || j <= i)));
          const rowW = tf.tensor4d(rowHasKey.map((x) => (x ? 1 : 0)), [1, 1, 14, 1]);
          const wm = w.mul(rowW);
          const gF = tf.grads((a: Tensor, b: Tensor, e: Tensor) => weightedSum(kernel.attend(a, b, e, c), wm))([q, k, v]);
          const gD = tf.grads((a: Tensor, b: Tensor, e: Tensor) => weightedSum(denseAttention(a, b, e, denseOpts), wm))([q, k, v]);
          gF.forEach((g, i) => expectTensorsClose(g, gD[i], TOL));
          tf.dispose([q, k, v, out, w, rowW, wm, ...gF, ...gD]);
        });
      }
    }
  }

  it('windowBlocks covering every tile reduces to dense attention', () => {
    const { q, k, v } = inputs(23, d);
    const out = makeKernel({ blockQ: bq, blockK: bk, blockMask: { kind: 'local', windowBlocks: 10 } }).attend(q, k, v, ctx({ causal: false, scale: 0.5 }));
    expectTensorsClose(out, naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), d, { scale: 0.5 }), TOL);
    tf.dispose([q, k, v, out]);
  });
});
