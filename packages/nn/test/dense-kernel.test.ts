/**
 * The dense kernel's causal mask for every query offset (decode chunks have offset Lk − Lq;
 * a negative offset leaves early rows with no key, which must output 0), checked against
 * @weft/core/testing's naive attention; and GELU against its tanh formula in float64.
 */
import { Rng, tf } from '@weft/core';
import { makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { DenseAttention, activate } from '@weft/nn';

describe('dense kernel causal mask', () => {
  const [B, H, Dh] = [2, 3, 4];
  it.each([
    [5, 5, 0],
    [3, 7, 4],
    [1, 9, 8],
    [4, 6, -2],
    [6, 3, 1],
  ])('Lq %i, Lk %i, queryOffset %i: equals naive attention', (Lq, Lk, queryOffset) => {
    const rng = new Rng(Lq * 31 + Lk);
    const q = rng.normalArray(B * H * Lq * Dh);
    const k = rng.normalArray(B * H * Lk * Dh);
    const v = rng.normalArray(B * H * Lk * Dh);
    const scale = 1 / Math.sqrt(Dh);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() =>
      new DenseAttention().attend(
        tf.tensor4d(q, [B, H, Lq, Dh]),
        tf.tensor4d(k, [B, H, Lk, Dh]),
        tf.tensor4d(v, [B, H, Lk, Dh]),
        makeAttentionContext({ causal: true, scale, queryOffset }),
      ),
    );
    const want = naiveAttention(Float32Array.from(q), Float32Array.from(k), Float32Array.from(v), { B, H, Lq, Lk, Dh }, { causal: true, scale, queryOffset });
    const got = out.dataSync();
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThan(1e-5));
  });
});

describe('gelu', () => {
  it('equals 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))) in float64', () => {
    const xs = Array.from({ length: 201 }, (_, i) => (i - 100) / 12.5);
    const got = tf.tidy(() => activate(tf.tensor1d(xs), 'gelu').dataSync());
    xs.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      expect(Math.abs(got[i] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    });
  });
});
