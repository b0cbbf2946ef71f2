/**
 * linearScan / linearRecurrence against a float64 loop written here:
 *   h_t = a_t ⊙ h_{t−1} + b_t,  h_{−1} = h0,  a_t := 0 where resets_t = 1.
 */
import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { linearRecurrence, linearScan } from '@weft/nn';

beforeAll(() => useBackend('cpu'));

/** a, b [B, L, S] flattened (S = product of the state axes), h0 [B, S], resets [B][L]. */
function naiveScan(a: Float32Array, b: Float32Array, B: number, L: number, S: number, h0?: Float32Array, resets?: number[][]): Float64Array {
  const h = new Float64Array(B * L * S);
  for (let bi = 0; bi < B; bi++) {
    for (let s = 0; s < S; s++) {
      let prev = h0 ? h0[bi * S + s]! : 0;
      for (let t = 0; t < L; t++) {
        const i = (bi * L + t) * S + s;
        const coef = resets && resets[bi]![t] ? 0 : a[i]!;
        prev = coef * prev + b[i]!;
        h[i] = prev;
      }
    }
  }
  return h;
}

function lastOf(h: Float64Array, B: number, L: number, S: number): Float64Array {
  const out = new Float64Array(B * S);
  for (let bi = 0; bi < B; bi++) for (let s = 0; s < S; s++) out[bi * S + s] = h[(bi * L + L - 1) * S + s]!;
  return out;
}

describe('linearScan (parallel) and linearRecurrence (sequential)', () => {
  it.each([
    [1, [3]],
    [2, [2, 3]],
    [7, [3]],
    [16, [2, 2]],
    [21, [2, 3]],
  ])('equal the loop (L = %i, state %j), with h0 and segment resets', (L, state) => {
    const B = 2;
    const S = state.reduce((p, q) => p * q, 1);
    const rng = new Rng(L * 7 + S);
    const as = rng.uniformArray(B * L * S, 0.3, 1);
    const bs = rng.normalArray(B * L * S);
    const h0s = rng.normalArray(B * S);
    const resets = [Array.from({ length: L }, (_, t) => (t % 5 === 2 ? 1 : 0)), new Array(L).fill(0)];
    const shape = [B, L, ...state];
    const [a, b, h0, r] = [tf.tensor(as, shape), tf.tensor(bs, shape), tf.tensor(h0s, [B, ...state]), tf.tensor(resets.flat(), [B, L])];
    for (const fn of [linearScan, linearRecurrence]) {
      const plain = fn(a, b);
      const want = naiveScan(as, bs, B, L, S);
      expectTensorsClose(plain.h, want, { atol: 1e-5, rtol: 1e-5 });
      expectTensorsClose(plain.last, lastOf(want, B, L, S), { atol: 1e-5, rtol: 1e-5 });
      expect(plain.last.shape).toEqual([B, ...state]);
      const full = fn(a, b, { h0, resets: r });
      const wantFull = naiveScan(as, bs, B, L, S, h0s, resets);
      expectTensorsClose(full.h, wantFull, { atol: 1e-5, rtol: 1e-5 });
      expectTensorsClose(full.last, lastOf(wantFull, B, L, S), { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([plain.h, plain.last, full.h, full.last]);
    }
    tf.dispose([a, b, h0, r]);
  });

  it('carrying `last` into the next chunk as h0 equals one scan over the whole sequence', () => {
    const [B, L, E, N] = [2, 11, 2, 3];
    const rng = new Rng(9);
    const a = rng.uniformTensor([B, L, E, N], 0.5, 1);
    const b = rng.normalTensor([B, L, E, N]);
    const full = linearScan(a, b);
    const chunk = (x: tf.Tensor, s: number, n: number) => tf.slice(x, [0, s, 0, 0], [B, n, E, N]);
    const first = linearScan(chunk(a, 0, 4), chunk(b, 0, 4));
    const second = linearScan(chunk(a, 4, 6), chunk(b, 4, 6), { h0: first.last });
    const third = linearRecurrence(chunk(a, 10, 1), chunk(b, 10, 1), { h0: second.last }); // one decoding step
    const joined = tf.concat([first.h, second.h, third.h], 1);
    expectTensorsClose(joined, full.h, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(third.last, full.last, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([a, b, full.h, full.last, first.h, first.last, second.h, second.last, third.h, third.last, joined]);
  });

  it('has finite-difference gradients for a, b and h0 (across scan rounds and resets)', () => {
    const [B, L, C] = [1, 6, 2];
    const rng = new Rng(5);
    const ins = [rng.uniformTensor([B, L, C], 0.4, 0.95), rng.normalTensor([B, L, C]), rng.normalTensor([B, C])];
    const wy = rng.normalTensor([B, L, C]);
    const r = tf.tensor([[0, 0, 0, 1, 0, 0]], [B, L]);
    for (const fn of [linearScan, linearRecurrence]) {
      gradCheck((a, b, h0) => tf.sum(tf.mul(fn(a, b, { h0, resets: r }).h, wy)) as tf.Scalar, ins, { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    }
    tf.dispose([...ins, wy, r]);
  });

  it('names the shapes it expects and does not leak tensors', () => {
    const a = tf.ones([2, 5, 3]);
    const b = tf.ones([2, 5, 3]);
    expect(() => linearScan(a, tf.ones([2, 5, 4]))).toThrow(/linearScan: coefficients a \[2,5,3\] and inputs b \[2,5,4\] must have the same shape/);
    expect(() => linearScan(a, b, { h0: tf.ones([2, 5, 3]) })).toThrow(/h0 must be \[B, …\] = \[2,3\]/);
    expect(() => linearRecurrence(a, b, { resets: tf.ones([2, 4]) })).toThrow(/linearRecurrence: resets must be \[B, L\] = \[2,5\]/);
    const h0 = tf.zeros([2, 3]);
    const r = tf.zeros([2, 5]);
    expect(
      leakedTensors(() => {
        for (const fn of [linearScan, linearRecurrence]) {
          const out = fn(a, b, { h0, resets: r });
          tf.dispose([out.h, out.last]);
        }
      }),
    ).toBe(0);
    tf.dispose([a, b, h0, r]);
  });
});
