import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createRegistry, Rng, tf, useBackend, type ForwardContext, type Tensor } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, gradCheck, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import ltp, { ltpHardKeep, LtpOptions, LtpReducer, ltpSoftMask } from '../src/index.js';

const dims = (dModel: number, heads: number) => ({ vocab: 8, dModel, heads, headDim: dModel / heads, layers: 2, maxLen: 64 });
const make = (opts: Partial<LtpOptions> = {}, dModel = 8, heads = 2) => new LtpReducer(LtpOptions.parse(opts), dims(dModel, heads), new Rng(1));
const ctxOf = (B: number, L: number, extra: Partial<ForwardContext> = {}) => makeForwardContext(B, L, { causal: false, ...extra });

/** Naive Eq. 2 from hand-made probabilities A[b][h][i][j]: mean over heads and queries. */
const naiveScores = (A: number[][][][]) =>
  A.map((heads) => heads[0][0].map((_, j) => heads.reduce((s, rows) => s + rows.reduce((t, row) => t + row[j], 0), 0) / (heads.length * heads[0].length)));

/** Hand-made attention probabilities with known column means (rows sum to 1). */
function handProbs(B: number, H: number, L: number, seed: number): number[][][][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () =>
    Array.from({ length: H }, () =>
      Array.from({ length: L }, () => {
        const row = Array.from({ length: L }, () => Math.exp(2 * rng.normal()));
        const z = row.reduce((a, b) => a + b, 0);
        return row.map((v) => v / z);
      }),
    ),
  );
}

describe('ltp reducer', () => {
  beforeAll(() => useBackend('cpu'));

  it('θ = 0 equals unpruned at inference (reduce and restore are the identity)', () => {
    const x = new Rng(2).normalTensor([2, 6, 8]);
    const red = make({ threshold: 0 }).reduce(x, ctxOf(2, 6));
    expectTensorsClose(red.x, x, { atol: 0 });
    const y = new Rng(3).normalTensor([2, 6, 8]);
    expectTensorsClose(red.restore(y), y, { atol: 0 });
  });

  it('the hard mask removes exactly the tokens whose hand-made importance is below θ', () => {
    const B = 2, H = 2, L = 6, D = 8;
    const A = handProbs(B, H, L, 4);
    const s = naiveScores(A);
    const theta = 1 / L; // about half the tokens fall below the mean importance
    const reducer = make({ threshold: theta }, D, H);
    reducer.attentionProbs = () => tf.tensor4d(A.flat(3), [B, H, L, L]);
    const x = new Rng(5).normalTensor([B, L, D]);
    const red = reducer.reduce(x, ctxOf(B, L));
    const kept = s.map((row) => row.flatMap((v, j) => (v >= theta ? [j] : [])));
    const Lk = Math.max(...kept.map((r) => r.length));
    expect(red.x.shape).toEqual([B, Lk, D]);
    const xs = x.arraySync() as number[][][], rx = red.x.arraySync() as number[][][];
    const mask = red.ctx.paddingMask!.arraySync() as number[][];
    const pos = red.ctx.positions.arraySync() as number[][];
    kept.forEach((row, b) => {
      row.forEach((j, i) => (expect(rx[b][i]).toEqual(xs[b][j]), expect(pos[b][i]).toBe(j), expect(mask[b][i]).toBe(1)));
      for (let i = row.length; i < Lk; i++) expect(mask[b][i]).toBe(0);
    });
    // restore: kept tokens get their processed vector back, pruned tokens their input
    const y = new Rng(6).normalTensor([B, Lk, D]);
    const ys = y.arraySync() as number[][][], back = red.restore(y).arraySync() as number[][][];
    for (let b = 0; b < B; b++)
      for (let t = 0; t < L; t++) {
        const i = kept[b].indexOf(t);
        expect(back[b][t]).toEqual(i >= 0 ? ys[b][i] : xs[b][t]);
      }
    expect(ltpHardKeep([[0.1, 0.3, 0.2]], 0.2)).toEqual([[false, true, true]]);
  });

  it('the soft mask in training is σ((s − θ)/T) on each token, the length is kept, restore blends', () => {
    const B = 1, H = 2, L = 5, D = 8;
    const A = handProbs(B, H, L, 7);
    const s = naiveScores(A)[0];
    const theta = 0.2, T = 0.05;
    const reducer = make({ threshold: theta, temperature: T }, D, H);
    reducer.attentionProbs = () => tf.tensor4d(A.flat(3), [B, H, L, L]);
    const x = new Rng(8).normalTensor([B, L, D]);
    const red = reducer.reduce(x, ctxOf(B, L, { training: true }));
    const m = s.map((v) => 1 / (1 + Math.exp(-(v - theta) / T)));
    const xs = (x.arraySync() as number[][][])[0];
    expectTensorsClose(red.x, xs.flatMap((row, j) => row.map((v) => m[j] * v)), { atol: 1e-5 });
    const y = new Rng(9).normalTensor([B, L, D]);
    const ys = (y.arraySync() as number[][][])[0];
    expectTensorsClose(red.restore(y), ys.flatMap((row, j) => row.map((v, d) => m[j] * v + (1 - m[j]) * xs[j][d])), { atol: 1e-5 });
  });

  it('the scoring attention is softmax(x Wq (x Wk)ᵀ / √Dh) per head, written with loops', () => {
    const B = 1, L = 4, D = 4, H = 2, Dh = 2;
    const reducer = make({}, D, H);
    const x = new Rng(10).normalTensor([B, L, D]);
    const got = reducer.attentionProbs(x, ctxOf(B, L));
    const xs = (x.arraySync() as number[][][])[0], wq = reducer.wq.arraySync() as number[][], wk = reducer.wk.arraySync() as number[][];
    const proj = (w: number[][]) => xs.map((row) => w[0].map((_, o) => row.reduce((s, v, i) => s + v * w[i][o], 0)));
    const q = proj(wq), k = proj(wk);
    const want: number[] = [];
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) {
        const logits = Array.from({ length: L }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += q[i][h * Dh + d] * k[j][h * Dh + d];
          return dot / Math.sqrt(Dh);
        });
        const mx = Math.max(...logits), e = logits.map((v) => Math.exp(v - mx)), z = e.reduce((a, b) => a + b, 0);
        want.push(...e.map((v) => v / z));
      }
    expectTensorsClose(got, want, { atol: 1e-5 });
  });

  it('matches a PyTorch port of Eqs. 2-4 (importance, soft mask, hard keep)', () => {
    const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'ltp.json'), 'utf8'));
    const reducer = make({ threshold: f.theta, temperature: f.T }, f.D, f.H);
    reducer.wq.assign(tf.tensor2d(f.wq, [f.D, f.D]));
    reducer.wk.assign(tf.tensor2d(f.wk, [f.D, f.D]));
    const x = tf.tensor3d(f.x, [f.B, f.L, f.D]);
    expectTensorsClose(reducer.reduce(x, ctxOf(f.B, f.L, { training: true })).x, f.soft, { atol: 1e-5 });
    const hard = reducer.reduce(x, ctxOf(f.B, f.L));
    const mask = hard.ctx.paddingMask!.arraySync() as number[][];
    const pos = hard.ctx.positions.arraySync() as number[][];
    (f.keep as number[][]).forEach((row, b) => {
      const kept = row.flatMap((k, j) => (k ? [j] : []));
      expect(pos[b].filter((_, i) => mask[b][i] === 1)).toEqual(kept);
    });
  });

  it('gradients of the soft mask reach θ and the scores (finite differences)', () => {
    const s = tf.tensor1d([0.1, 0.25, 0.3, 0.18]);
    const theta = tf.scalar(0.2);
    const w = tf.tensor1d([1, -2, 0.5, 3]);
    const res = gradCheck((a, t) => tf.sum(tf.mul(ltpSoftMask(a, t, 0.1), w)) as tf.Scalar, [s, theta], { eps: 1e-3 });
    expect(res.maxAbsError).toBeLessThan(1e-2);
  });

  it('is leak-free at inference, and in training inside the forward tidy (restore holds the mask)', async () => {
    const x = new Rng(3).normalTensor([2, 6, 8]);
    const reducer = make({ threshold: 1 / 6 });
    const inference = ctxOf(2, 6), training = ctxOf(2, 6, { training: true });
    await expectNoLeaks(() => {
      const red = reducer.reduce(x, inference);
      tf.dispose([red.restore(red.x), red.x, red.ctx.positions, red.ctx.paddingMask as Tensor]);
    }, 3);
    await expectNoLeaks(() => {
      tf.tidy(() => {
        const red = reducer.reduce(x, training);
        return red.restore(red.x);
      }).dispose();
    }, 3);
  });
});

reducerConformance('ltp (training, soft mask)', () => make({ threshold: 0.1 }), { dModel: 8, causal: false, L: 8 });
reducerConformance('ltp (inference, hard removal)', () => make({ threshold: 0.13 }), { dModel: 8, causal: false, L: 8 });

describe('ltp in models', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, ltp);
  const base = { vocab: 8, dModel: 16, layers: 3, heads: 2, seed: 1 };

  it('is refused in a causal model with a message that names the reducer and the fix', () => {
    const config = { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'ltp' } }] };
    expect(() => buildModel(registry(), config)).toThrow(ConfigError);
    expect(() => buildModel(registry(), config)).toThrow(/reducers\[0\]\.reducer.*"ltp" is not causal.*Use a causal reducer or a bidirectional model/);
  });

  it('refuses a non-positive temperature and a negative threshold at config time', () => {
    expect(() => registry().validate('reducer', { kind: 'ltp', temperature: 0 }, 'reducers[0].reducer')).toThrow(/reducers\[0\]\.reducer\.temperature: .*> 0/);
    expect(() => registry().validate('reducer', { kind: 'ltp', threshold: -1 }, 'reducers[0].reducer')).toThrow(/reducers\[0\]\.reducer\.threshold: .*>= 0/);
  });

  it('trains in an encoder classifier (soft mask) and its θ moves', async () => {
    const reg = registry();
    const config = { ...base, task: 'classifier', classes: 2, reducers: [{ at: 1, span: 1, reducer: { kind: 'ltp', threshold: 0.08, temperature: 0.02 } }] };
    const model = buildModel(reg, config) as EncoderClassifier;
    const opt = tf.train.adam(0.02);
    const rng = new Rng(5);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const rows: number[][] = [];
      const labels: number[] = [];
      for (let b = 0; b < 16; b++) {
        const label = rng.int(2);
        rows.push(Array.from({ length: 12 }, () => (label ? 5 : 2) + rng.int(3)));
        labels.push(label);
      }
      const ids = tf.tensor2d(rows, undefined, 'int32');
      const targets = tf.tensor1d(labels, 'int32');
      const loss = opt.minimize(() => model.loss({ inputs: ids, targets }, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, ids, targets]);
    }, 25);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
    expect((model.reducers[0].reducer as LtpReducer).theta.dataSync()[0]).not.toBe(0.08);
    opt.dispose();
    model.dispose();
  });
});
