/**
 * Core's wasm BatchMatMul wrapper (kernels/wasm/BatchMatMul.ts) reroutes transposed and batched
 * products through tfjs's fast single-product kernel. Its results must equal the cpu backend's
 * for every layout it touches (and for those it leaves to tfjs), forward and gradients.
 */
import { tf, useBackend } from '../src/index.js';
import { expectNoLeaks } from '../src/testing/index.js';

/** forwardOnly: cases whose gradients test/batch-matmul-grad.test.ts checks against an explicit broadcast. */
type Case = { name: string; a: number[]; b: number[]; transposeA?: boolean; transposeB?: boolean; forwardOnly?: boolean };

const CASES: Case[] = [
  { name: '2D, no transpose (tfjs path)', a: [64, 96], b: [96, 48] },
  { name: '2D, transposeA', a: [96, 64], b: [96, 48], transposeA: true },
  { name: '2D, transposeB', a: [64, 96], b: [48, 96], transposeB: true },
  { name: '2D, both transposed', a: [96, 64], b: [48, 96], transposeA: true, transposeB: true },
  { name: 'batched', a: [5, 40, 48], b: [5, 48, 36] },
  { name: 'batched, transposeB (q·kᵀ)', a: [6, 40, 32], b: [6, 44, 32], transposeB: true },
  { name: 'batched, transposeA (pᵀ·v)', a: [6, 44, 40], b: [6, 44, 32], transposeA: true },
  { name: 'rank 4 [B, H, L, D]', a: [2, 3, 40, 32], b: [2, 3, 32, 40] },
  { name: 'shared right operand', a: [4, 40, 48], b: [48, 36], forwardOnly: true },
  { name: 'shared right operand, transposeB', a: [4, 40, 48], b: [36, 48], transposeB: true, forwardOnly: true },
  { name: 'shared left operand', a: [40, 48], b: [4, 48, 36], forwardOnly: true },
  { name: 'broadcast batch dims (left to tfjs)', a: [2, 1, 40, 32], b: [1, 3, 32, 40], forwardOnly: true },
  { name: 'small product (left to tfjs)', a: [8, 1, 16], b: [8, 16, 4] },
];

function inputs(c: Case): [number[], number[]] {
  const fill = (shape: number[], seed: number) =>
    Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed * 7.13 + i * 0.37));
  return [fill(c.a, 1), fill(c.b, 2)];
}

/** Product and gradients of sum(product ⊙ W) w.r.t. a and b, as flat arrays. */
function compute(c: Case): number[][] {
  const [av, bv] = inputs(c);
  return tf.tidy(() => {
    const a = tf.tensor(av, c.a);
    const b = tf.tensor(bv, c.b);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.transposeA, c.transposeB);
    const out = f(a, b);
    if (c.forwardOnly) return [Array.from(out.dataSync())];
    const weight = tf.sin(tf.range(0, out.size).reshape(out.shape));
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), weight)))([a, b]);
    return [out, ga, gb].map((t) => Array.from(t.dataSync()));
  });
}

describe('wasm BatchMatMul wrapper', () => {
  const expected = new Map<string, number[][]>();
  beforeAll(async () => {
    await useBackend('cpu');
    for (const c of CASES) expected.set(c.name, compute(c));
    await useBackend('wasm');
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: product (and gradients) equal the cpu backend', (_, c) => {
    const actual = compute(c);
    const want = expected.get(c.name)!;
    actual.forEach((values, k) => {
      expect(values.length).toBe(want[k].length);
      const scale = Math.max(1, ...want[k].map(Math.abs));
      const diff = Math.max(...values.map((v, i) => Math.abs(v - want[k][i])));
      expect(diff / scale).toBeLessThan(1e-5);
    });
  });

  it('leaks no tensors and no wasm buffers', async () => {
    const [av, bv] = inputs(CASES[6]);
    const a = tf.tensor(av, CASES[6].a);
    const b = tf.tensor(bv, CASES[6].b);
    const buffersBefore = tf.memory().numDataBuffers;
    await expectNoLeaks(() => {
      tf.matMul(a, b, true, false).dispose();
      tf.matMul(a, a, false, true).dispose();
    }, 5);
    expect(tf.memory().numDataBuffers).toBe(buffersBefore);
    tf.dispose([a, b]);
  });

  it('is registered in place of tfjs kernel', () => {
    const kernel = tf.getKernel('BatchMatMul', 'wasm');
    expect(kernel).toBeDefined();
    expect((kernel!.kernelFunc as unknown as Record<symbol, unknown>)[Symbol.for('weft.wasm.BatchMatMul.wrapped')]).toBe(true);
  });
});
