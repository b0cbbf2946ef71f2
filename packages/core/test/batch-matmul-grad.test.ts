/**
 * Core's BatchMatMul gradient (kernels/gradients/BatchMatMul_grad.ts) reduces over broadcast
 * batch dimensions, and its kernel wrapper (kernels/BroadcastBatchMatMul.ts) gets products
 * whose batch dims broadcast one by one right. Reference: the same product with both operands broadcast explicitly to the
 * full batch first (tf.broadcastTo, whose own gradient sums), so no batch dimension broadcasts
 * inside the product.
 */
import { tf, useBackend } from '../src/index.js';
import { expectNoLeaks } from '../src/testing/index.js';

type Case = { name: string; a: number[]; b: number[]; transposeA?: boolean; transposeB?: boolean; batch: number[] };

const CASES: Case[] = [
  { name: 'shared right operand (x [B, M, K] · w [K, N])', a: [4, 5, 6], b: [6, 3], batch: [4] },
  { name: 'shared right operand, transposeB', a: [4, 5, 6], b: [3, 6], transposeB: true, batch: [4] },
  { name: 'shared left operand', a: [5, 6], b: [4, 6, 3], batch: [4] },
  { name: 'shared left operand, transposeA', a: [6, 5], b: [4, 6, 3], transposeA: true, batch: [4] },
  { name: 'both transposed, shared right', a: [2, 6, 5], b: [3, 6], transposeA: true, transposeB: true, batch: [2] },
  // Batch dims that broadcast one by one: tfjs 4.22's kernels got the product itself wrong
  // (core tiles them first: kernels/BroadcastBatchMatMul.ts).
  { name: 'batch dims [2, 1] × [1, 3]', a: [2, 1, 5, 4], b: [1, 3, 4, 6], batch: [2, 3] },
  { name: 'batch dims [2, 1] × [2, 3], transposeB', a: [2, 1, 5, 4], b: [2, 3, 6, 4], transposeB: true, batch: [2, 3] },
  { name: 'batch dims [3] × [2, 1]', a: [3, 5, 4], b: [2, 1, 4, 6], batch: [2, 3] },
  { name: 'rank 4 · rank 2', a: [2, 3, 5, 4], b: [4, 6], batch: [2, 3] },
];

const fill = (shape: number[], seed: number) =>
  tf.tensor(Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed * 3.1 + i * 0.7)), shape);

function grads(c: Case, explicit: boolean): number[][] {
  return tf.tidy(() => {
    const a = fill(c.a, 1);
    const b = fill(c.b, 2);
    const full = (t: tf.Tensor) => tf.broadcastTo(t, [...c.batch, ...t.shape.slice(-2)]);
    const f = (x: tf.Tensor, y: tf.Tensor) => (explicit ? tf.matMul(full(x), full(y), c.transposeA, c.transposeB) : tf.matMul(x, y, c.transposeA, c.transposeB));
    const out = f(a, b);
    const weight = tf.cos(tf.reshape(tf.range(0, out.size), out.shape));
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), weight)))([a, b]);
    expect(ga.shape).toEqual(c.a);
    expect(gb.shape).toEqual(c.b);
    return [out, ga, gb].map((t) => Array.from(t.dataSync()));
  });
}

describe.each(['cpu', 'wasm'] as const)('BatchMatMul gradient with broadcast batch dims (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(CASES.map((c) => [c.name, c] as const))('%s: product and gradients equal the explicitly broadcast product', (_, c) => {
    const got = grads(c, false);
    const want = grads(c, true);
    got.forEach((g, k) => g.forEach((v, i) => expect(Math.abs(v - want[k][i])).toBeLessThan(1e-4)));
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(() => void grads(CASES[0], false), 3);
  });
});
