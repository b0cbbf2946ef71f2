/** alignTemperature lands on an entropy match (checked with an entropy written here). */
import { Rng, tf } from '@weft/core';
import { alignTemperature, attentionEntropy } from '../src/index.js';

/** Mean row entropy (nats) of softmax(z / τ) in float64 loops, rows of length n. */
function naiveEntropy(z: ArrayLike<number>, n: number, tau: number): number {
  let total = 0;
  const rows = z.length / n;
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: n }, (_, j) => z[r * n + j] / tau);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    total -= e.reduce((acc, v) => acc + (v / s) * Math.log(v / s), 0);
  }
  return total / rows;
}

describe('pos-temperature: attention alignment search', () => {
  const rng = new Rng(9);

  it('the same logit distribution over 4x more keys is flatter; the τ found restores the training entropy (τ < 1)', () => {
    const short = tf.mul(rng.normalTensor([8, 16]), 2); // training length 16
    const long = tf.mul(rng.normalTensor([8, 64]), 2); // inference length 64
    const target = naiveEntropy(short.dataSync(), 16, 1);
    expect(naiveEntropy(long.dataSync(), 64, 1)).toBeGreaterThan(target + 0.5); // dispersed attention
    const tau = alignTemperature(long, short, { tolerance: 1e-6 });
    expect(tau).toBeLessThan(1);
    expect(naiveEntropy(long.dataSync(), 64, tau)).toBeCloseTo(target, 4);
    tf.dispose([short, long]);
  });

  it('a numeric target, and a mask (causal rows) excluding dropped keys', () => {
    const L = 12;
    const logits = tf.mul(rng.normalTensor([L, L]), 3);
    const mask = tf.linalg.bandPart(tf.ones([L, L]), -1, 0); // key j ≤ query i
    const tau = alignTemperature(logits, 1.2, { mask, tolerance: 1e-6 });
    const z = logits.arraySync() as number[][];
    let mean = 0;
    for (let i = 0; i < L; i++) mean += naiveEntropy(z[i].slice(0, i + 1), i + 1, tau);
    expect(mean / L).toBeCloseTo(1.2, 4);
    expect(attentionEntropy(logits, tau, mask)).toBeCloseTo(1.2, 4);
    tf.dispose([logits, mask]);
  });

  it('an unreachable target is a RangeError that says what to change', () => {
    const logits = rng.normalTensor([2, 8]);
    expect(() => alignTemperature(logits, 5)).toThrow(/outside .*Widen "min"\/"max"/);
    logits.dispose();
  });
});
