import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createRegistry, Rng, tf, useBackend, type ForwardContext, type Tensor } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import tome, { TOME_SIZES, TomeOptions, TomeReducer } from '../src/index.js';

const make = (r: number, mode: 'mean' | 'sum' = 'mean') => new TomeReducer(TomeOptions.parse({ r, mode }));
const ctxOf = (B: number, L: number, extra: Partial<ForwardContext> = {}) => makeForwardContext(B, L, { causal: false, ...extra });

/** Naive ToMe written from the paper: loops over A (even) and B (odd), cosine scores, sort, merge. */
function naiveTome(xs: number[][], sizes: number[], r: number) {
  const L = xs.length;
  const cos = (u: number[], v: number[]) => {
    let d = 0, nu = 0, nv = 0;
    for (let i = 0; i < u.length; i++) {
      d += u[i] * v[i];
      nu += u[i] * u[i];
      nv += v[i] * v[i];
    }
    return d / Math.sqrt(nu * nv);
  };
  const A: number[] = [], Bs: number[] = [];
  for (let t = 0; t < L; t++) (t % 2 ? Bs : A).push(t);
  const best: number[] = [], edge: number[] = [];
  for (const a of A) {
    let bi = 0;
    for (let j = 1; j < Bs.length; j++) if (cos(xs[a], xs[Bs[j]]) > cos(xs[a], xs[Bs[bi]])) bi = j;
    best.push(bi);
    edge.push(cos(xs[a], xs[Bs[bi]]));
  }
  const order = A.map((_, i) => i).sort((p, q) => edge[q] - edge[p]);
  const mergedA = new Set(order.slice(0, r));
  const out: number[][] = [], outSize: number[] = [];
  for (const i of order.slice(r)) {
    out.push(xs[A[i]]);
    outSize.push(sizes[A[i]]);
  }
  for (let j = 0; j < Bs.length; j++) {
    let tot = sizes[Bs[j]];
    const acc = xs[Bs[j]].map((v) => v * sizes[Bs[j]]);
    for (const i of mergedA) {
      if (best[i] !== j) continue;
      tot += sizes[A[i]];
      xs[A[i]].forEach((v, d) => (acc[d] += v * sizes[A[i]]));
    }
    out.push(acc.map((v) => v / tot));
    outSize.push(tot);
  }
  return { out, outSize };
}

describe('tome reducer', () => {
  beforeAll(() => useBackend('cpu'));

  it('r = 0 is the identity (reduce and restore)', () => {
    const x = new Rng(1).normalTensor([2, 7, 4]);
    const red = make(0).reduce(x, ctxOf(2, 7));
    expectTensorsClose(red.x, x, { atol: 1e-6 });
    expectTensorsClose(red.restore(red.x), x, { atol: 1e-6 });
  });

  it.each([
    [8, 3],
    [9, 4],
    [6, 3],
  ])('merged tokens == the naive size-weighted mean of bipartite soft matching (L = %i, r = %i)', (L, r) => {
    const B = 2, D = 5;
    const x = new Rng(L).normalTensor([B, L, D]);
    const sizes = tf.tensor2d(Array.from({ length: B * L }, (_, i) => 1 + ((i * 7) % 3)), [B, L]);
    const red = make(r).reduce(x, ctxOf(B, L, { scratch: new Map([[TOME_SIZES, sizes]]) }));
    expect(red.x.shape).toEqual([B, L - r, D]);
    const xs = x.arraySync() as number[][][], ss = sizes.arraySync() as number[][];
    const want = [0, 1].map((b) => naiveTome(xs[b], ss[b], r));
    expectTensorsClose(red.x, want.flatMap((w) => w.out.flat()), { atol: 1e-5 });
    expectTensorsClose(red.ctx.scratch.get(TOME_SIZES) as Tensor, want.flatMap((w) => w.outSize), { atol: 1e-6 });
  });

  it('sum-merge preserves the token sum', () => {
    const x = new Rng(3).normalTensor([2, 10, 4]);
    const red = make(4, 'sum').reduce(x, ctxOf(2, 10));
    expect(red.x.shape).toEqual([2, 6, 4]);
    expectTensorsClose(tf.sum(red.x, 1), tf.sum(x, 1), { atol: 1e-5 });
  });

  it('restore copies each merged token back to all its sources; B tokens map to their own slot', () => {
    const B = 1, L = 8, D = 3, r = 3;
    const x = new Rng(4).normalTensor([B, L, D]);
    const red = make(r).reduce(x, ctxOf(B, L));
    const y = new Rng(5).normalTensor([B, L - r, D]);
    const restored = red.restore(y);
    expect(restored.shape).toEqual([B, L, D]);
    const rs = (restored.arraySync() as number[][][])[0], ys = (y.arraySync() as number[][][])[0];
    // every restored row is one of the reduced rows; odd token 2j+1 gets row (L/2 − r) + j
    const nU = Math.ceil(L / 2) - r;
    for (let j = 0; j < L / 2; j++) expect(rs[2 * j + 1]).toEqual(ys[nU + j]);
    // restoring the merged sequence itself: each token's restored value is the mean of its group
    const back = (red.restore(red.x).arraySync() as number[][][])[0], xs = (x.arraySync() as number[][][])[0];
    const groups = new Map<string, number[]>();
    back.forEach((row, t) => groups.set(row.join(), [...(groups.get(row.join()) ?? []), t]));
    expect(groups.size).toBe(L - r);
    for (const members of groups.values()) {
      const mean = xs[0].map((_, d) => members.reduce((s, t) => s + xs[t][d], 0) / members.length);
      expectTensorsClose(tf.tensor1d(back[members[0]]), mean, { atol: 1e-5 });
      for (const t of members) if (t % 2 === 0 && members.length > 1) expect(members.some((u) => u % 2 === 1)).toBe(true); // A merges into B
    }
  });

  it('never merges padding into real tokens and keeps positions of the representatives', () => {
    const x = new Rng(6).normalTensor([1, 6, 4]);
    const ctx = ctxOf(1, 6, { paddingMask: tf.tensor2d([[1, 1, 1, 1, 0, 0]]) });
    const red = make(1).reduce(x, ctx);
    const back = (red.restore(red.x).arraySync() as number[][][])[0], xs = x.arraySync() as number[][][];
    for (let t = 0; t < 4; t++) for (let u = 4; u < 6; u++) expect(back[t]).not.toEqual(back[u]); // no real/pad mixes
    expect(new Set(back.slice(0, 4).map((row) => row.join())).size).toBe(3); // the one merge joined two real tokens
    expect(xs[0].length).toBe(6);
    expect((red.ctx.paddingMask!.arraySync() as number[][])[0].filter((m) => m === 1).length).toBe(3); // 3 real reduced tokens
    expect(red.ctx.positions.shape).toEqual([1, 5]);
  });

  it('matches a PyTorch port of ToMe (merge_wavg with sizes, sum merge, unmerge)', () => {
    const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'tome.json'), 'utf8'));
    const x = tf.tensor3d(f.x, [f.B, f.L, f.D]);
    const sizes = tf.tensor2d(f.size, [f.B, f.L]);
    const red = make(f.r).reduce(x, ctxOf(f.B, f.L, { scratch: new Map([[TOME_SIZES, sizes]]) }));
    expectTensorsClose(red.x, f.merged_mean, { atol: 1e-5 });
    expectTensorsClose(red.ctx.scratch.get(TOME_SIZES) as Tensor, f.new_size, { atol: 1e-6 });
    expectTensorsClose(red.restore(tf.tensor3d(f.y, [f.B, f.L - f.r, f.D])), f.restored, { atol: 1e-6 });
    const sum = make(f.r, 'sum').reduce(x, ctxOf(f.B, f.L, { scratch: new Map([[TOME_SIZES, sizes]]) }));
    expectTensorsClose(sum.x, f.merged_sum, { atol: 1e-5 });
  });

  it('is leak-free', async () => {
    const x = new Rng(3).normalTensor([1, 8, 4]);
    const ctx = ctxOf(1, 8);
    await expectNoLeaks(() => {
      const red = make(2).reduce(x, ctx);
      tf.dispose([red.restore(red.x), red.x, red.ctx.positions, red.ctx.scratch.get(TOME_SIZES) as Tensor]);
    }, 3);
  });
});

reducerConformance('tome', () => make(2), { dModel: 8, causal: false, L: 8 });
reducerConformance('tome (odd L, r above the limit)', () => make(9), { dModel: 8, causal: false, L: 7 });

describe('tome in models', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, tome);
  const base = { vocab: 8, dModel: 16, layers: 3, heads: 2, seed: 1 };

  it('is refused in a causal model with a message that names the reducer and the fix', () => {
    const config = { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'tome' } }] };
    expect(() => buildModel(registry(), config)).toThrow(ConfigError);
    expect(() => buildModel(registry(), config)).toThrow(/reducers\[0\]\.reducer.*"tome" is not causal.*Use a causal reducer or a bidirectional model/);
  });

  it('refuses a negative r and an unknown mode at config time', () => {
    expect(() => registry().validate('reducer', { kind: 'tome', r: -1 }, 'reducers[0].reducer')).toThrow(/reducers\[0\]\.reducer\.r: .*>= 0/);
    expect(() => registry().validate('reducer', { kind: 'tome', mode: 'max' }, 'reducers[0].reducer')).toThrow(/reducers\[0\]\.reducer\.mode/);
  });

  it('trains in an encoder classifier: loss falls on "are the tokens from {5, 6, 7} or {2, 3, 4}?"', async () => {
    const reg = registry();
    const config = { ...base, task: 'classifier', classes: 2, reducers: [{ at: 1, span: 1, reducer: { kind: 'tome', r: 4 } }] };
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
    opt.dispose();
    model.dispose();
  });
});
