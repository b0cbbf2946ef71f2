import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck } from '@weft/core/testing';
import { deltaRuleChunked, deltaRuleRecurrent, unitLowerInverse } from '../src/index.js';
import { naiveDeltaRule } from './reference.js';

beforeAll(() => useBackend('cpu'));

/** fla's test inputs: randn q, k, v; β = σ(randn); q, k L2-normalised; q scaled D^−1/2. */
function inputs(seed: number, B: number, H: number, L: number, D: number) {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const l2 = (t: tf.Tensor) => tf.div(t, tf.norm(t, 2, -1, true));
    return {
      q: tf.mul(l2(rng.normalTensor([B, H, L, D])), 1 / Math.sqrt(D)),
      k: l2(rng.normalTensor([B, H, L, D])),
      v: rng.normalTensor([B, H, L, D]),
      beta: tf.sigmoid(rng.normalTensor([B, H, L])),
    };
  });
}

describe('delta rule', () => {
  const [B, H, L, D] = [2, 2, 11, 4];

  it.each([1, 2, 3, 4, 8, 11, 64])('chunked (chunkSize %i) == sequential recurrence == naive paper-form loop', (C) => {
    const { q, k, v, beta } = inputs(1, B, H, L, D);
    const chunked = deltaRuleChunked(q, k, v, beta, C);
    const S0 = tf.zeros([B, H, D, D]);
    const [seq, S] = deltaRuleRecurrent(q, k, v, beta, S0);
    expectTensorsClose(chunked, seq, { atol: 1e-5, rtol: 1e-5 });
    const naive = naiveDeltaRule(q.dataSync(), k.dataSync(), v.dataSync(), beta.dataSync(), B, H, L, D, D);
    expectTensorsClose(chunked, naive, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([q, k, v, beta, chunked, S0, seq, S]);
  });

  it('chunked gradients == sequential gradients, for every chunk size', () => {
    const { q, k, v, beta } = inputs(2, 1, 2, 7, 3);
    const g = new Rng(3).normalTensor([1, 2, 7, 3]);
    const S0 = tf.zeros([1, 2, 3, 3]);
    const seqGrads = tf.grads((a, b, c, d) => tf.sum(tf.mul(deltaRuleRecurrent(a, b, c, d, S0)[0], g)))([q, k, v, beta]);
    for (const C of [1, 2, 3, 7]) {
      const grads = tf.grads((a, b, c, d) => tf.sum(tf.mul(deltaRuleChunked(a, b, c, d, C), g)))([q, k, v, beta]);
      grads.forEach((gr, i) => expectTensorsClose(gr, seqGrads[i], { atol: 1e-5, rtol: 1e-4 }));
      tf.dispose(grads);
    }
    tf.dispose([q, k, v, beta, g, S0, ...seqGrads]);
  });

  it('has finite-difference gradients (chunked, 2 chunks)', () => {
    const { q, k, v, beta } = inputs(4, 1, 1, 5, 3);
    const g = new Rng(5).normalTensor([1, 1, 5, 3]);
    gradCheck((a, b, c, d) => tf.sum(tf.mul(deltaRuleChunked(a, b, c, d, 3), g)) as tf.Scalar, [q, k, v, beta], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([q, k, v, beta, g]);
  });

  it('matches the PyTorch port (outputs and autograd gradients)', () => {
    const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'delta-rule.json'), 'utf8'));
    const shape = [fx.B, fx.H, fx.T, fx.D];
    const [q, k, v, g] = [fx.q, fx.k, fx.v, fx.g].map((a: number[]) => tf.tensor(a, shape));
    const beta = tf.tensor(fx.beta, [fx.B, fx.H, fx.T]);
    for (const C of [4, 64]) {
      const o = deltaRuleChunked(q, k, v, beta, C);
      expectTensorsClose(o, fx.o, { atol: 1e-5, rtol: 1e-5 });
      const grads = tf.grads((a, b, c, d) => tf.sum(tf.mul(deltaRuleChunked(a, b, c, d, C), g)))([q, k, v, beta]);
      [fx.dq, fx.dk, fx.dv, fx.dbeta].forEach((ref: number[], i) => expectTensorsClose(grads[i], ref, { atol: 1e-4, rtol: 1e-4 }));
      tf.dispose([o, ...grads]);
    }
    tf.dispose([q, k, v, g, beta]);
  });

  it('unitLowerInverse inverts I + N exactly for strictly lower-triangular N', () => {
    for (const c of [1, 2, 5, 8, 9]) {
      const N = tf.tidy(() => { const r = new Rng(c).normalTensor([2, c, c]); return tf.sub(tf.linalg.bandPart(r, -1, 0), tf.linalg.bandPart(r, 0, 0)); });
      const inv = unitLowerInverse(N);
      const prod = tf.matMul(tf.add(tf.eye(c), N), inv);
      expectTensorsClose(prod, tf.tidy(() => tf.broadcastTo(tf.eye(c), [2, c, c])), { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([N, inv, prod]);
    }
  });

  it('does not leak and refuses bad shapes', () => {
    const { q, k, v, beta } = inputs(6, 1, 1, 5, 2);
    const before = tf.memory().numTensors;
    tf.dispose(deltaRuleChunked(q, k, v, beta, 2));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => deltaRuleChunked(q, k, v, q, 2)).toThrow(/beta \[B, H, L\]; got .*beta \[1,1,5,2\]/);
    expect(() => deltaRuleChunked(q, k, v, beta, 0)).toThrow(/chunkSize must be a positive integer; got 0/);
    tf.dispose([q, k, v, beta]);
  });
});
