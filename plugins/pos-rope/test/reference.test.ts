/** RoPE equals a naive per-pair rotation loop, and has the paper's properties (§3.4). */
import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { RotaryEncoding, inverseFrequencies, rotaryDimFor } from '../src/index.js';
import { naiveRope, type NaiveRopeOptions } from './naive.js';

function encoding(Dh: number, opts: NaiveRopeOptions): RotaryEncoding {
  const R = rotaryDimFor(Dh, opts.fraction, 'positional');
  return new RotaryEncoding({ headDim: Dh, rotaryDim: R, layout: opts.layout, invFreq: inverseFrequencies(R, opts.base) });
}

const positionsOf = (B: number, L: number, start: number) => tf.tidy(() => tf.tile(tf.reshape(tf.range(start, start + L, 1, 'int32'), [1, L]), [B, 1]));

describeWithBackends('pos-rope reference', () => {
  const rng = new Rng(11);
  const B = 2, H = 4, Hkv = 2, Lq = 3, Lk = 6, Dh = 12;

  for (const layout of ['interleaved', 'half-split'] as const) {
    for (const fraction of [1, 0.5]) {
      it(`${layout}, fraction ${fraction}: equals the naive rotation loop (GQA shapes, different q/k positions)`, () => {
        const opts = { base: 10000, fraction, layout };
        const q = rng.normalTensor([B, H, Lq, Dh]);
        const k = rng.normalTensor([B, Hkv, Lk, Dh]);
        const qPos = tf.tensor2d([[5, 6, 7], [100, 101, 102]], [B, Lq], 'int32');
        const kPos = tf.tensor2d([[0, 1, 2, 3, 4, 5], [97, 98, 99, 100, 101, 102]], [B, Lk], 'int32');
        const [q2, k2] = encoding(Dh, opts).rotate(q, k, qPos, kPos);
        expect(q2.shape).toEqual([B, H, Lq, Dh]);
        expect(k2.shape).toEqual([B, Hkv, Lk, Dh]);
        expectTensorsClose(q2, naiveRope(q.dataSync(), [B, H, Lq, Dh], qPos.dataSync(), opts), { atol: 1e-5, rtol: 1e-4 });
        expectTensorsClose(k2, naiveRope(k.dataSync(), [B, Hkv, Lk, Dh], kPos.dataSync(), opts), { atol: 1e-5, rtol: 1e-4 });
        tf.dispose([q, k, qPos, kPos, q2, k2]);
      });
    }
  }

  it('relative property (eq. 16): q_m·k_n is unchanged when both positions shift by the same offset', () => {
    const enc = encoding(Dh, { base: 10000, fraction: 1, layout: 'interleaved' });
    const q = rng.normalTensor([1, 1, 5, Dh]);
    const k = rng.normalTensor([1, 1, 5, Dh]);
    const scores = (offset: number): Tensor =>
      tf.tidy(() => {
        const pos = positionsOf(1, 5, offset);
        const [qr, kr] = enc.rotate(q, k, pos, pos);
        return tf.matMul(qr, kr, false, true); // [1, 1, 5, 5]
      });
    const s0 = scores(0);
    const s1 = scores(37);
    const s2 = scores(1000);
    expectTensorsClose(s1, s0, { atol: 1e-4, rtol: 1e-4 });
    expectTensorsClose(s2, s0, { atol: 1e-3, rtol: 1e-3 });
    // ...while the rotated vectors themselves do change with the offset (positions matter)
    const plain = tf.tidy(() => tf.matMul(q, k, false, true));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(plain, s0))).dataSync()[0])).toBeGreaterThan(1e-2);
    tf.dispose([q, k, s0, s1, s2, plain]);
  });

  it('preserves the norm of every query/key vector (rotations are orthogonal)', () => {
    const enc = encoding(Dh, { base: 10000, fraction: 0.5, layout: 'half-split' });
    const q = rng.normalTensor([B, H, Lq, Dh]);
    const pos = tf.tensor2d([[3, 500, 9999], [0, 1, 2]], [B, Lq], 'int32');
    const [q2, k2] = enc.rotate(q, q, pos, pos);
    const n1 = tf.tidy(() => tf.norm(q, 'euclidean', -1));
    const n2 = tf.tidy(() => tf.norm(q2, 'euclidean', -1));
    expectTensorsClose(n2, n1, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([q, pos, q2, k2, n1, n2]);
  });

  it('the two layouts differ by a fixed permutation: half-split(x) == P⁻¹ interleaved(P x)', () => {
    // P gathers interleaved order from half-split order: pair i = (i, i + d/2) -> (2i, 2i+1).
    const d = Dh;
    const perm = Array.from({ length: d }, (_, j) => (j % 2 === 0 ? j / 2 : (j - 1) / 2 + d / 2)); // interleaved slot j <- half-split dim perm[j]
    const inverse = new Array<number>(d);
    perm.forEach((src, j) => (inverse[src] = j));
    const x = rng.normalTensor([B, H, Lq, Dh]);
    const pos = tf.tensor2d([[1, 2, 40], [7, 8, 9]], [B, Lq], 'int32');
    const half = encoding(Dh, { base: 10000, fraction: 1, layout: 'half-split' });
    const inter = encoding(Dh, { base: 10000, fraction: 1, layout: 'interleaved' });
    const viaHalf = half.apply(x, pos);
    const viaInter = tf.tidy(() => {
      const px = tf.gather(x, tf.tensor1d(perm, 'int32'), 3);
      return tf.gather(inter.apply(px, pos), tf.tensor1d(inverse, 'int32'), 3);
    });
    expectTensorsClose(viaInter, viaHalf, { atol: 1e-5, rtol: 1e-5 });
    // and they are genuinely different maps on the same input
    const direct = inter.apply(x, pos);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(direct, viaHalf))).dataSync()[0])).toBeGreaterThan(1e-2);
    tf.dispose([x, pos, viaHalf, viaInter, direct]);
  });

  it('fraction 0 is the identity; partial rotary leaves the tail dims untouched', () => {
    const x = rng.normalTensor([B, H, Lq, Dh]);
    const pos = tf.tensor2d([[4, 5, 6], [70, 80, 90]], [B, Lq], 'int32');
    const none = encoding(Dh, { base: 10000, fraction: 0, layout: 'interleaved' }).apply(x, pos);
    expectTensorsClose(none, x, { atol: 0, rtol: 0 });
    const partial = encoding(Dh, { base: 10000, fraction: 0.5, layout: 'interleaved' }).apply(x, pos);
    const tail = (t: Tensor) => tf.slice(t, [0, 0, 0, 6], [-1, -1, -1, 6]);
    const [a, b] = [tail(partial), tail(x)];
    expectTensorsClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([x, pos, none, partial, a, b]);
  });

  it('rotation at position 0 is the identity', () => {
    const x = rng.normalTensor([1, 2, 3, Dh]);
    const pos = tf.zeros([1, 3], 'int32');
    const y = encoding(Dh, { base: 10000, fraction: 1, layout: 'half-split' }).apply(x, pos);
    expectTensorsClose(y, x, { atol: 1e-7, rtol: 0 });
    tf.dispose([x, pos, y]);
  });
});
