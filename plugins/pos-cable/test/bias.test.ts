/** CABLE's bias equals the paper's formula (naive loops, torch parity), reduces to ALiBi, has its properties and gradients. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, makeForwardContext, positionalConformance } from '@weft/core/testing';
import { CableBias } from '../src/index.js';

const softplus = (z: number) => Math.log1p(Math.exp(z));

/** bias[b, h, i, j] = −Σ_{j < u ≤ i} softplus(W_h·x_u + c_h) for j ≤ i (and b_i − b_j generally), float64 loops. */
function naiveBias(x: ArrayLike<number>, W: ArrayLike<number>, c: ArrayLike<number>, B: number, L: number, D: number, H: number): Float64Array {
  const out = new Float64Array(B * H * L * L);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const step = Array.from({ length: L }, (_, u) => {
        let z = c[h];
        for (let d = 0; d < D; d++) z += x[(b * L + u) * D + d] * W[d * H + h];
        return softplus(z);
      });
      for (let i = 0; i < L; i++)
        for (let j = 0; j < L; j++) {
          let s = 0;
          for (let u = Math.min(i, j) + 1; u <= Math.max(i, j); u++) s += step[u];
          out[((b * H + h) * L + i) * L + j] = i >= j ? -s : s;
        }
    }
  return out;
}

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'cable.json'), 'utf8'));

function withWeights(W: number[], c: number[], D: number, H: number): CableBias {
  const enc = new CableBias(D, H, new Rng(0));
  enc.W.assign(tf.tensor2d(W, [D, H]));
  enc.c.assign(tf.tensor1d(c));
  return enc;
}

describeWithBackends('pos-cable bias', () => {
  const rng = new Rng(4);

  it('equals the naive formula on the full matrix and on an off-diagonal tile', () => {
    const [B, L, D, H] = [2, 7, 5, 3];
    const enc = new CableBias(D, H, rng);
    enc.W.assign(rng.normalTensor([D, H]));
    enc.c.assign(rng.normalTensor([H]));
    const x = rng.normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const full = enc.bias(ctx.positions, ctx.positions, { ...ctx, x });
    const ref = naiveBias(x.dataSync(), enc.W.dataSync(), enc.c.dataSync(), B, L, D, H);
    expectTensorsClose(full, ref, { atol: 1e-4, rtol: 1e-4 });
    const qPos = tf.slice(ctx.positions, [0, 4], [-1, 3]);
    const kPos = tf.slice(ctx.positions, [0, 1], [-1, 4]);
    const tile = enc.bias(qPos, kPos, { ...ctx, x });
    const expected = tf.tidy(() => tf.slice(tf.tensor(Float32Array.from(ref), [B, H, L, L]), [0, 0, 4, 1], [-1, -1, 3, 4]));
    expectTensorsClose(tile, expected, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([x, full, qPos, kPos, tile, expected, ctx.positions]);
    enc.dispose();
  });

  it('constant softplus output (W = 0) reduces to ALiBi: −softplus(c_h)·(i − j)', () => {
    const [B, L, D, H] = [1, 6, 4, 2];
    const enc = withWeights(new Array(D * H).fill(0), [0.3, -1.2], D, H);
    const x = rng.normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const bias = enc.bias(ctx.positions, ctx.positions, { ...ctx, x });
    const d = bias.arraySync() as number[][][][];
    for (let h = 0; h < H; h++) {
      const m = softplus([0.3, -1.2][h]);
      for (let i = 0; i < L; i++) for (let j = 0; j <= i; j++) expect(d[0][h][i][j]).toBeCloseTo(-m * (i - j), 5);
    }
    tf.dispose([x, bias, ctx.positions]);
    enc.dispose();
  });

  it('for j ≤ i the bias is ≤ 0, zero on the diagonal, and decreases as the key moves further back', () => {
    const [B, L, D, H] = [2, 8, 4, 2];
    const enc = new CableBias(D, H, rng);
    enc.W.assign(rng.normalTensor([D, H]));
    const x = rng.normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const bias = enc.bias(ctx.positions, ctx.positions, { ...ctx, x });
    const d = bias.arraySync() as number[][][][];
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++) {
          expect(Math.abs(d[b][h][i][i])).toBeLessThan(1e-6);
          for (let j = 0; j < i; j++) {
            expect(d[b][h][i][j]).toBeLessThanOrEqual(0);
            expect(d[b][h][i][j]).toBeLessThan(d[b][h][i][j + 1]); // strictly: softplus > 0
          }
        }
    tf.dispose([x, bias, ctx.positions]);
    enc.dispose();
  });

  it('is context-aware: changing one token changes the bias of every pair that spans it, and only those', () => {
    const [L, D, H] = [6, 4, 1];
    const enc = new CableBias(D, H, rng);
    enc.W.assign(rng.normalTensor([D, H]));
    const x1 = rng.normalTensor([1, L, D]);
    const x2 = tf.tidy(() => tf.add(x1, tf.mul(tf.oneHot(tf.tensor1d([3], 'int32'), L).reshape([1, L, 1]), 2)));
    const ctx = makeForwardContext(1, L);
    const [a, b] = [enc.bias(ctx.positions, ctx.positions, { ...ctx, x: x1 }), enc.bias(ctx.positions, ctx.positions, { ...ctx, x: x2 })];
    const [da, db] = [a.arraySync() as number[][][][], b.arraySync() as number[][][][]];
    for (let i = 0; i < L; i++)
      for (let j = 0; j <= i; j++) {
        const spans = j < 3 && 3 <= i;
        if (spans) expect(Math.abs(da[0][0][i][j] - db[0][0][i][j])).toBeGreaterThan(1e-4);
        else expect(Math.abs(da[0][0][i][j] - db[0][0][i][j])).toBeLessThan(1e-6);
      }
    tf.dispose([x1, x2, a, b, ctx.positions]);
    enc.dispose();
  });

  it('matches the PyTorch port (bias and one causal attention layer)', () => {
    const { B, L, D, H } = fx;
    const enc = withWeights(fx.W, fx.c, D, H);
    const x = tf.tensor(fx.x, [B, L, D]);
    const ctx = makeForwardContext(B, L);
    const bias = enc.bias(ctx.positions, ctx.positions, { ...ctx, x });
    expectTensorsClose(bias, fx.bias, { atol: 1e-5, rtol: 1e-4 });
    const out = tf.tidy(() => {
      const [q, k, v] = [tf.tensor(fx.q, [B, H, L, 4]), tf.tensor(fx.k, [B, H, L, 4]), tf.tensor(fx.v, [B, H, L, 4])];
      const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([L, L]), -1, 0)), -1e9);
      return tf.matMul(tf.softmax(tf.add(tf.add(tf.div(tf.matMul(q, k, false, true), 2), bias), mask)), v);
    });
    expectTensorsClose(out, fx.out, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, bias, out, ctx.positions]);
    enc.dispose();
  });

  it('gradients w.r.t. x, W and c match finite differences', () => {
    const [B, L, D, H] = [1, 4, 3, 2];
    const enc = new CableBias(D, H, rng);
    const x0 = rng.normalTensor([B, L, D]);
    const W0 = rng.normalTensor([D, H]);
    const c0 = rng.normalTensor([H]);
    const w = rng.normalTensor([B, H, L, L]);
    const ctx = makeForwardContext(B, L);
    const f = (x: tf.Tensor, W: tf.Tensor, c: tf.Tensor) =>
      tf.tidy(() => {
        enc.W.assign(W as tf.Tensor2D);
        enc.c.assign(c as tf.Tensor1D);
        return tf.sum(tf.mul(enc.bias(ctx.positions, ctx.positions, { ...ctx, x }), w)) as tf.Scalar;
      });
    // tf.grads sees W, c through assign only as values: differentiate through a functional copy instead
    const g = (x: tf.Tensor, W: tf.Tensor, c: tf.Tensor) =>
      tf.tidy(() => {
        const s = tf.softplus(tf.add(tf.reshape(tf.matMul(tf.reshape(x, [B * L, D]), W), [B, L, H]), c));
        const b = tf.transpose(tf.neg(tf.cumsum(s, 1)), [0, 2, 1]);
        return tf.sum(tf.mul(tf.sub(tf.expandDims(b, 3), tf.expandDims(b, 2)), w)) as tf.Scalar;
      });
    expect(f(x0, W0, c0).dataSync()[0]).toBeCloseTo(g(x0, W0, c0).dataSync()[0], 4);
    const { maxAbsError } = gradCheck((x) => f(x, W0, c0), [x0], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    expect(maxAbsError).toBeLessThan(2e-2);
    const params = gradCheck(g, [x0, W0, c0], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    expect(params.maxAbsError).toBeLessThan(2e-2);
    tf.dispose([x0, W0, c0, w, ctx.positions]);
    enc.dispose();
  });

  positionalConformance('cable', () => new CableBias(16, 2, new Rng(1)), { heads: 2, headDim: 8, dModel: 16 });
});
