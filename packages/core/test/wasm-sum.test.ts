/**
 * Core's wasm Sum wrapper (kernels/wasm/Sum.ts) computes float32 sums over leading axes as a
 * product with a ones vector. Every case — rerouted or left to tfjs — must equal a float64 sum
 * written here.
 */
import { tf, useBackend } from '../src/index.js';
import { expectNoLeaks } from '../src/testing/index.js';

type Case = { name: string; shape: number[]; axis?: number | number[]; keepDims?: boolean; dtype?: 'float32' | 'int32' };

const CASES: Case[] = [
  { name: 'rows of a matrix (a bias gradient)', shape: [512, 96], axis: 0 },
  { name: 'two leading axes [B, L, C]', shape: [4, 130, 48], axis: [0, 1] },
  { name: 'leading axes given negative and unsorted', shape: [4, 130, 48], axis: [-2, 0] },
  { name: 'keepDims', shape: [4, 130, 48], axis: [0, 1], keepDims: true },
  { name: 'rank 4, three leading axes', shape: [2, 3, 70, 40], axis: [0, 1, 2] },
  { name: 'innermost axis (left to tfjs)', shape: [512, 96], axis: 1 },
  { name: 'middle axis (left to tfjs)', shape: [8, 256, 16], axis: 1 },
  { name: 'all axes (left to tfjs)', shape: [256, 96] },
  { name: 'small input (left to tfjs)', shape: [16, 8], axis: 0 },
  { name: 'int32 (left to tfjs)', shape: [512, 64], axis: 0, dtype: 'int32' },
];

const values = (c: Case) =>
  Array.from({ length: c.shape.reduce((x, y) => x * y, 1) }, (_, i) => (c.dtype === 'int32' ? (i % 13) - 6 : Math.sin(i * 0.37) * 3));

/** Σ over the case's axes in float64, in row-major order of the kept axes. */
function reference(c: Case): number[] {
  const rank = c.shape.length;
  const axes = new Set((c.axis === undefined ? [...Array(rank).keys()] : [c.axis].flat()).map((a) => (a < 0 ? a + rank : a)));
  const kept = c.shape.map((d, i) => (axes.has(i) ? 1 : d));
  const out = new Array<number>(kept.reduce((x, y) => x * y, 1)).fill(0);
  values(c).forEach((v, flat) => {
    let rest = flat;
    let target = 0;
    for (let i = 0; i < rank; i++) {
      const stride = c.shape.slice(i + 1).reduce((x, y) => x * y, 1);
      const index = Math.floor(rest / stride);
      rest %= stride;
      target = target * kept[i] + (axes.has(i) ? 0 : index);
    }
    out[target] += v;
  });
  return out;
}

describe('wasm Sum wrapper', () => {
  beforeAll(() => useBackend('wasm'));

  it.each(CASES.map((c) => [c.name, c] as const))('%s: equals a float64 sum', (_, c) => {
    const got = tf.tidy(() => tf.sum(tf.tensor(values(c), c.shape, c.dtype ?? 'float32'), c.axis, c.keepDims));
    const rank = c.shape.length;
    const axes = new Set((c.axis === undefined ? [...Array(rank).keys()] : [c.axis].flat()).map((a) => (a < 0 ? a + rank : a)));
    const shape = c.keepDims ? c.shape.map((d, i) => (axes.has(i) ? 1 : d)) : c.shape.filter((_d, i) => !axes.has(i));
    expect(got.shape).toEqual(shape);
    expect(got.dtype).toBe(c.dtype ?? 'float32');
    const want = reference(c);
    const data = Array.from(got.dataSync());
    got.dispose();
    expect(data.length).toBe(want.length);
    data.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]))));
  });

  it('gives the bias gradient of a broadcast add', () => {
    const x = tf.tensor(values(CASES[0]), [512, 96]);
    const bias = tf.zeros([96]);
    const weight = tf.tensor(values(CASES[0]).map((v) => v * 0.5 + 1), [512, 96]);
    const g = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.add(x, b), weight)))(bias);
    const w = weight.arraySync() as number[][];
    const want = Array.from({ length: 96 }, (_, j) => w.reduce((s, row) => s + row[j], 0));
    Array.from(g.dataSync()).forEach((v, j) => expect(Math.abs(v - want[j])).toBeLessThan(1e-3));
    tf.dispose([x, bias, weight, g]);
  });

  it('leaks no tensors and no wasm buffers', async () => {
    const x = tf.tensor(values(CASES[1]), CASES[1].shape);
    const buffersBefore = tf.memory().numDataBuffers;
    await expectNoLeaks(() => {
      tf.sum(x, [0, 1]).dispose();
      tf.sum(x, 0, true).dispose();
    }, 5);
    expect(tf.memory().numDataBuffers).toBe(buffersBefore);
    x.dispose();
  });

  it('is registered in place of tfjs kernel', () => {
    const kernel = tf.getKernel('Sum', 'wasm');
    expect((kernel!.kernelFunc as unknown as Record<symbol, unknown>)[Symbol.for('weft.wasm.Sum.wrapped')]).toBe(true);
  });
});
