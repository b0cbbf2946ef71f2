/**
 * logScan / logcumsumexp / logScanStep against float64 loops written here:
 *   h_t = a_t h_{t−1} + b_t (h_{−1} = exp(lh0) or 0; a_t := 0 where resets_t = 1), compared as exp(logScan);
 *   logcumsumexp(x)_t = m + log Σ_{s≤t} exp(x_s − m) with a running max m.
 */
import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { logcumsumexp, logScan, logScanStep } from '@weft/nn';

beforeAll(() => useBackend('cpu'));

function naiveScan(a: Float32Array, b: Float32Array, B: number, L: number, C: number, h0?: Float32Array, resets?: number[][]): Float64Array {
  const h = new Float64Array(B * L * C);
  for (let bi = 0; bi < B; bi++)
    for (let c = 0; c < C; c++) {
      let prev = h0 ? h0[bi * C + c]! : 0;
      for (let t = 0; t < L; t++) {
        const i = (bi * L + t) * C + c;
        prev = (resets && resets[bi]![t] ? 0 : a[i]!) * prev + b[i]!;
        h[i] = prev;
      }
    }
  return h;
}

function naiveLogcumsumexp(x: Float32Array, B: number, L: number, C: number): Float64Array {
  const out = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      let m = -Infinity;
      let s = 0; // Σ exp(x − m)
      for (let t = 0; t < L; t++) {
        const v = x[(b * L + t) * C + c]!;
        if (v > m) {
          s = s * Math.exp(m - v) + 1;
          m = v;
        } else s += Math.exp(v - m);
        out[(b * L + t) * C + c] = m + Math.log(s);
      }
    }
  return out;
}

describe('logScan (stable log-space linear scan)', () => {
  it.each([1, 2, 13, 40])('exp(logScan) equals the linear-space loop (L = %i), with resets and a carried state', (L) => {
    const [B, C] = [2, 3];
    const rng = new Rng(20 + L);
    const a = rng.uniformArray(B * L * C, 0.05, 0.999);
    const b = rng.uniformArray(B * L * C, 0.01, 2);
    const h0 = rng.uniformArray(B * C, 0.1, 3);
    const resets = [Array.from({ length: L }, (_, t) => (t % 9 === 3 || t === 10 ? 1 : 0)), new Array(L).fill(0)];
    const [la, lb, lh0, r] = [tf.log(tf.tensor(a, [B, L, C])), tf.log(tf.tensor(b, [B, L, C])), tf.log(tf.tensor(h0, [B, C])), tf.tensor(resets.flat(), [B, L])];
    const outs = [tf.exp(logScan(la, lb)), tf.exp(logScan(la, lb, { resets: r })), tf.exp(logScan(la, lb, { resets: r, lh0 }))];
    expectTensorsClose(outs[0]!, naiveScan(a, b, B, L, C), { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(outs[1]!, naiveScan(a, b, B, L, C, undefined, resets), { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(outs[2]!, naiveScan(a, b, B, L, C, h0, resets), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([la, lb, lh0, r, ...outs]);
  });

  it('logScanStep continues a scan one token at a time (the decoding form)', () => {
    const [B, L, C] = [1, 6, 2];
    const rng = new Rng(8);
    const la = tf.log(rng.uniformTensor([B, L, C], 0.2, 0.99));
    const lb = rng.normalTensor([B, L, C]);
    const full = logScan(la, lb);
    const head = logScan(tf.slice(la, [0, 0, 0], [B, 3, C]), tf.slice(lb, [0, 0, 0], [B, 3, C]));
    let lh = tf.reshape(tf.slice(head, [0, 2, 0], [B, 1, C]), [B, C]);
    for (let t = 3; t < L; t++) {
      const at = (x: tf.Tensor) => tf.reshape(tf.slice(x, [0, t, 0], [B, 1, C]), [B, C]);
      const next = logScanStep(at(la), at(lb), lh);
      expectTensorsClose(next, at(full), { atol: 1e-5, rtol: 1e-5 });
      lh.dispose();
      lh = next;
    }
    tf.dispose([la, lb, full, head, lh]);
  });

  it('logcumsumexp equals a float64 running-max loop, including huge magnitudes', () => {
    const [B, L, C] = [2, 19, 3];
    const vals = new Rng(5).normalArray(B * L * C, 0, 5);
    vals[4] = 900; // would overflow a naive exp
    vals[20] = -800;
    const x = tf.tensor(vals, [B, L, C]);
    const out = logcumsumexp(x);
    expectTensorsClose(out, naiveLogcumsumexp(vals, B, L, C), { atol: 1e-4, rtol: 1e-5 });
    tf.dispose([x, out]);
  });

  it('has finite-difference gradients for la, lb and lh0', () => {
    const rng = new Rng(3);
    const la = tf.log(rng.uniformTensor([1, 6, 2], 0.2, 0.9));
    const lb = rng.normalTensor([1, 6, 2]);
    const lh0 = rng.normalTensor([1, 2]);
    const w = rng.normalTensor([1, 6, 2]);
    const r = tf.tensor([[0, 0, 1, 0, 0, 0]], [1, 6]);
    gradCheck((p, q, h) => tf.sum(tf.mul(tf.exp(logScan(p, q, { lh0: h, resets: r })), w)) as tf.Scalar, [la, lb, lh0], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([la, lb, lh0, w, r]);
  });

  it('names the shapes it expects and does not leak tensors', () => {
    const la = tf.fill([1, 9, 2], -0.1);
    const lb = tf.zeros([1, 9, 2]);
    expect(() => logScan(la, tf.zeros([1, 9, 3]))).toThrow(/logScan: log coefficients \[1,9,2\] and log values \[1,9,3\] must both be \[B, L, C\]/);
    expect(() => logScan(la, lb, { lh0: tf.zeros([1, 3]) })).toThrow(/lh0 \(log initial state\) must be \[B, C\] = \[1,2\]/);
    const lh0 = tf.zeros([1, 2]);
    const r = tf.zeros([1, 9]);
    expect(leakedTensors(() => tf.dispose([logScan(la, lb, { lh0, resets: r }), logcumsumexp(lb)]))).toBe(0);
    tf.dispose([la, lb, lh0, r]);
  });
});
