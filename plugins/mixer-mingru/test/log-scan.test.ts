import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck } from '@weft/core/testing';
import { logcumsumexp, logScan } from '../src/index.js';
import { naiveLinearScan, naiveLogcumsumexp } from './reference.js';

beforeAll(() => useBackend('cpu'));

describe('logcumsumexp (stable log-space prefix scan)', () => {
  it.each([1, 2, 11, 64])('equals a float64 running-max loop (L = %i), including huge magnitudes', (L) => {
    const rng = new Rng(L);
    const [B, C] = [2, 3];
    const vals = rng.normalArray(B * L * C, 0, 5);
    vals[4 % vals.length] = 900; // would overflow a naive exp
    vals[20 % vals.length] = -800;
    const x = tf.tensor(vals, [B, L, C]);
    const out = logcumsumexp(x);
    expectTensorsClose(out, naiveLogcumsumexp(vals, B, L, C), { atol: 1e-4, rtol: 1e-5 });
    tf.dispose([x, out]);
  });

  it('has finite-difference gradients (across scan rounds)', () => {
    const x = new Rng(5).normalTensor([1, 7, 2]);
    const w = new Rng(6).normalTensor([1, 7, 2]);
    gradCheck((v) => tf.sum(tf.mul(logcumsumexp(v, {}), w)), [x], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([x, w]);
  });
});

describe('logScan: h_t = a_t h_{t-1} + b_t in log space', () => {
  it.each([1, 13, 40])('equals the linear-space recurrence (L = %i), with segment resets', (L) => {
    const rng = new Rng(10 + L);
    const [B, C] = [2, 3];
    const a = rng.uniformArray(B * L * C, 0.05, 0.999);
    const bv = rng.uniformArray(B * L * C, 0.01, 2);
    const resets = [Array.from({ length: L }, (_, t) => (t % 9 === 3 || t === 10 ? 1 : 0)), new Array(L).fill(0)];
    const la = tf.log(tf.tensor(a, [B, L, C]));
    const lb = tf.log(tf.tensor(bv, [B, L, C]));
    const r = tf.tensor(resets.flat(), [B, L]);
    const h = tf.exp(logScan(la, lb, { resets: r }));
    expectTensorsClose(h, naiveLinearScan(a, bv, B, L, C, resets), { atol: 1e-5, rtol: 1e-5 });
    const h0 = tf.exp(logScan(la, lb));
    expectTensorsClose(h0, naiveLinearScan(a, bv, B, L, C), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([la, lb, r, h, h0]);
  });

  it('has finite-difference gradients for both inputs', () => {
    const rng = new Rng(3);
    const la = tf.log(rng.uniformTensor([1, 6, 2], 0.2, 0.9));
    const lb = rng.normalTensor([1, 6, 2]);
    const w = rng.normalTensor([1, 6, 2]);
    gradCheck((p, q) => tf.sum(tf.mul(tf.exp(logScan(p, q, {})), w)), [la, lb], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([la, lb, w]);
  });

  it('does not leak tensors', () => {
    const la = tf.fill([1, 9, 2], -0.1);
    const lb = tf.zeros([1, 9, 2]);
    const before = tf.memory().numTensors;
    tf.dispose(logScan(la, lb, {}));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([la, lb]);
  });
});
