import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, DEFAULT_DIMS, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, leakedTensors, makeForwardContext, positionalConformance } from '@weft/core/testing';
import fire, { FireBias, fireBias, VERSION } from '@weft/pos-fire';

/** Naive FIRE in float64 loops: b(i,j) = MLP(log(|c(i-j)|+1) / (log(|c max(i,L)|+1) + eps)). */
function naiveFire(qPos: number[][], kPos: number[][], p: { c: number; m: number; w1: number[]; b1: number[]; w2: number[][]; b2: number[] }, initL: number, eps: number) {
  const B = qPos.length, Lq = qPos[0].length, Lk = kPos[0].length, H = p.b2.length, W = p.b1.length;
  const L = Math.abs(p.m * initL);
  const out = new Float64Array(B * H * Lq * Lk);
  for (let b = 0; b < B; b++)
    for (let qi = 0; qi < Lq; qi++)
      for (let kj = 0; kj < Lk; kj++) {
        const i = qPos[b][qi], j = kPos[b][kj];
        const x = Math.log(Math.abs(p.c * (i - j)) + 1) / (Math.log(Math.abs(p.c * Math.max(i, L)) + 1) + eps);
        for (let h = 0; h < H; h++) {
          let acc = p.b2[h];
          for (let u = 0; u < W; u++) acc += Math.max(0, x * p.w1[u] + p.b1[u]) * p.w2[u][h];
          out[((b * H + h) * Lq + qi) * Lk + kj] = acc;
        }
      }
  return out;
}

const snapshot = (f: FireBias) => ({
  c: f.c.dataSync()[0], m: f.multiplier.dataSync()[0],
  w1: Array.from(f.w1.dataSync()), b1: Array.from(f.b1.dataSync()),
  w2: f.w2.arraySync() as number[][], b2: Array.from(f.b2.dataSync()),
});

describe('FIRE package', () => {
  it('VERSION equals package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });

  it('bad options fail at config time with the field, the value and the fix', () => {
    const registry = createRegistry().use(fire);
    expect(() => registry.validate('positional', { kind: 'fire', mlpWidth: 0 }, 'positional')).toThrow('positional.mlpWidth: must be at least 1 hidden unit (paper: 32); got 0 (number)');
    expect(() => registry.validate('positional', { kind: 'fire', initC: -1 }, 'positional')).toThrow(/positional\.initC: must be > 0: c scales distances inside log\(c·x \+ 1\) \(paper: 0\.1\); got -1/);
    expect(() => registry.validate('positional', { kind: 'fire', initL: 0 }, 'positional')).toThrow(/positional\.initL: must be a positive length.*\(paper: 512\); got 0/);
    expect(registry.validate('positional', { kind: 'fire' })).toEqual({ kind: 'fire', mlpWidth: 32, initC: 0.1, initL: 512, eps: 1e-6 });
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 'fire' }))).toEqual({ embed: false, rotate: false, bias: true, perLayer: true });
  });
});

describeWithBackends('FIRE bias', () => {
  it('equals the naive formula (both sides of the threshold, packed positions)', () => {
    const enc = new FireBias({ heads: 3, mlpWidth: 32, initC: 0.3, initL: 8, eps: 1e-6 }, new Rng(1));
    tf.tidy(() => enc.multiplier.assign(tf.scalar(1.25))); // L = 10
    const qPos = [[0, 4, 9, 10, 15, 40], [3, 2, 1, 0, 11, 12]];
    const kPos = [[0, 1, 2, 3, 4, 5, 9, 10, 20, 39, 40], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]];
    const q = tf.tensor2d(qPos, undefined, 'int32');
    const k = tf.tensor2d(kPos, undefined, 'int32');
    const bias = enc.bias(q, k);
    expect(bias.shape).toEqual([2, 3, 6, 11]);
    expectTensorsClose(bias, naiveFire(qPos, kPos, snapshot(enc), 8, 1e-6), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([q, k, bias]);
    enc.dispose();
  });

  for (const L of [64, 4096]) {
    it(`the MLP input is in [0, 1] for every causal pair at length ${L} (sampled, no L×L tensor) and reaches 1 only at j = 0, i >= L_thr`, () => {
      const enc = new FireBias({ heads: 2, mlpWidth: 8, initC: 0.1, initL: 512, eps: 1e-6 }, new Rng(2));
      const sampler = new Rng(L);
      const qs = [L - 1, ...Array.from({ length: 15 }, () => Math.floor(sampler.uniform() * L))];
      const ks = [0, ...Array.from({ length: 31 }, () => Math.floor(sampler.uniform() * L))];
      const q = tf.tensor2d([qs], [1, qs.length], 'int32');
      const k = tf.tensor2d([ks], [1, ks.length], 'int32');
      const x = enc.normalizedDistance(q, k);
      expect(x.shape).toEqual([1, qs.length, ks.length]);
      const xs = x.arraySync() as number[][][];
      qs.forEach((i, a) =>
        ks.forEach((j, b) => {
          if (j > i) return; // masked by causality
          expect(xs[0][a][b]).toBeGreaterThanOrEqual(0);
          expect(xs[0][a][b]).toBeLessThanOrEqual(1);
          const expected = Math.log(0.1 * (i - j) + 1) / (Math.log(0.1 * Math.max(i, 512) + 1) + 1e-6);
          expect(xs[0][a][b]).toBeCloseTo(expected, 5);
        }),
      );
      // The farthest pair (i = L-1, j = 0): < 1 below the threshold, ~1 above it.
      expect(xs[0][0][0]).toBeCloseTo(L - 1 >= 512 ? 1 : Math.log(0.1 * (L - 1) + 1) / Math.log(0.1 * 512 + 1), 5);
      tf.dispose([q, k, x]);
      enc.dispose();
    });
  }

  it('gradients: gradCheck on c, L_multiplier and the MLP weights', () => {
    const initL = 8, eps = 1e-6;
    const rng = new Rng(3);
    const q = tf.tensor2d([[0, 3, 6, 9, 14]], [1, 5], 'int32');
    const k = tf.tensor2d([[0, 1, 2, 5, 9, 13]], [1, 6], 'int32');
    const G = rng.normalTensor([1, 2, 5, 6]);
    const inputs = [tf.scalar(0.3), tf.scalar(1.1), rng.normalTensor([1, 6]), rng.normalTensor([6]), rng.normalTensor([6, 2]), rng.normalTensor([2])];
    const f = (c: Tensor, m: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) =>
      tf.sum(tf.mul(G, fireBias(q, k, { c, multiplier: m, w1, b1, w2, b2 }, initL, eps))) as tf.Scalar;
    const result = gradCheck(f as (...xs: Tensor[]) => tf.Scalar, inputs, { eps: 1e-3, atol: 2e-2, rtol: 2e-2 });
    expect(Math.abs(result.analytic[0][0])).toBeGreaterThan(1e-3); // c really moves the bias
    expect(Math.abs(result.analytic[1][0])).toBeGreaterThan(1e-3); // so does L (queries below the threshold)
    tf.dispose([q, k, G, ...inputs]);
  });

  it('leaks nothing; the registry builds it with the model head count', () => {
    const enc = createRegistry().use(fire).create('positional', { kind: 'fire' }, { dims: { ...DEFAULT_DIMS, heads: 6 } }) as FireBias;
    expect(enc.w2.shape).toEqual([32, 6]);
    expect(enc.c.dataSync()[0]).toBeCloseTo(0.1, 7);
    expect(enc.multiplier.dataSync()[0]).toBe(1);
    const ctx = makeForwardContext(2, 5);
    expect(leakedTensors(() => enc.bias(ctx.positions, ctx.positions).dispose())).toBe(0);
    ctx.positions.dispose();
    enc.dispose();
  });

  positionalConformance('fire', () => new FireBias({ heads: 4, mlpWidth: 32, initC: 0.1, initL: 512, eps: 1e-6 }, new Rng(4)), { heads: 4, headDim: 8, dModel: 32 });
});
