/**
 * Core's wasm Slice (kernels/wasm/Slice.ts) copies only the selected runs. Every case must
 * equal a slice computed here element by element from the input values.
 */
import { tf, useBackend } from '../src/index.js';
import { expectNoLeaks } from '../src/testing/index.js';

type Case = { shape: number[]; begin: number[]; size: number[]; dtype?: 'float32' | 'int32' | 'bool' };

const CASES: Case[] = [
  { shape: [10], begin: [3], size: [4] },
  { shape: [6, 7], begin: [2, 0], size: [3, 7] }, // contiguous rows
  { shape: [6, 7], begin: [1, 2], size: [4, 3] },
  { shape: [4, 5, 6], begin: [1, 2, 1], size: [2, -1, 4] }, // -1: to the end
  { shape: [3, 4, 5, 6], begin: [0, 1, 0, 2], size: [3, 2, 5, 3] },
  { shape: [2, 3, 4, 5, 6], begin: [1, 0, 2, 1, 0], size: [1, 3, 2, 3, 6] }, // rank 5
  { shape: [5, 8], begin: [1, 2], size: [3, 4], dtype: 'int32' },
  { shape: [5, 8], begin: [0, 3], size: [5, 2], dtype: 'bool' },
  { shape: [4, 6], begin: [2, 3], size: [0, 2] }, // empty
];

function reference(c: Case, values: number[]): { shape: number[]; data: number[] } {
  const size = c.size.map((s, d) => (s === -1 ? c.shape[d] - c.begin[d] : s));
  const strides = c.shape.map((_, d) => c.shape.slice(d + 1).reduce((x, y) => x * y, 1));
  const data: number[] = [];
  const total = size.reduce((x, y) => x * y, 1);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let offset = 0;
    for (let d = 0; d < size.length; d++) {
      const inner = size.slice(d + 1).reduce((x, y) => x * y, 1);
      offset += (c.begin[d] + Math.floor(rest / inner)) * strides[d];
      rest %= inner;
    }
    data.push(values[offset]);
  }
  return { shape: size, data };
}

describe('wasm Slice', () => {
  beforeAll(() => useBackend('wasm'));

  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))('%s equals an element-by-element slice', (_, c) => {
    const n = c.shape.reduce((x, y) => x * y, 1);
    const values = Array.from({ length: n }, (_v, i) => (c.dtype === 'bool' ? i % 3 === 0 ? 1 : 0 : c.dtype === 'int32' ? i * 7 - 50 : Math.sin(i) * 10));
    const x = tf.tensor(values, c.shape, c.dtype ?? 'float32');
    const y = tf.slice(x, c.begin, c.size);
    const want = reference(c, values);
    expect(y.shape).toEqual(want.shape);
    expect(y.dtype).toBe(c.dtype ?? 'float32');
    const got = Array.from(y.dataSync());
    got.forEach((v, i) => expect(Math.abs(v - want.data[i])).toBeLessThan(1e-6));
    expect(got.length).toBe(want.data.length);
    tf.dispose([x, y]);
  });

  it('gradients flow through slices; no leaks', async () => {
    const x = tf.tensor(Array.from({ length: 48 }, (_v, i) => i), [4, 12]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [1, 2], [2, 5]), 3)))(x);
    const want = Array.from({ length: 48 }, (_v, i) => (Math.floor(i / 12) >= 1 && Math.floor(i / 12) < 3 && i % 12 >= 2 && i % 12 < 7 ? 3 : 0));
    expect(Array.from(g.dataSync())).toEqual(want);
    await expectNoLeaks(() => tf.slice(x, [1, 3], [3, 4]).dispose(), 3);
    tf.dispose([x, g]);
  });

  it('is registered in place of tfjs kernel', () => {
    expect((tf.getKernel('Slice', 'wasm')!.kernelFunc as unknown as Record<symbol, unknown>)[Symbol.for('weft.wasm.Slice.wrapped')]).toBe(true);
  });
});
