import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import dynamicPooling, { DynamicPoolingOptions, DynamicPoolingReducer } from '../src/index.js';

function make(options: Partial<DynamicPoolingOptions>, D: number, seed = 1): DynamicPoolingReducer {
  return new DynamicPoolingReducer(DynamicPoolingOptions.parse(options), { dModel: D }, new Rng(seed));
}

/**
 * Wire the boundary predictor so that token t ends a segment exactly when x_t[0] = 1
 * (x_t[0] ∈ {0, 1}): hidden = identity, logit = 10·gelu(x_0) − 5 (> 0 iff x_0 > ~0.69).
 */
function wireBoundariesToFeature0(r: DynamicPoolingReducer, D: number): void {
  r.hidden.weight.assign(tf.eye(D));
  r.hidden.bias!.assign(tf.zeros([D]));
  r.out.weight.assign(tf.tensor2d(Array.from({ length: D }, (_, i) => [i === 0 ? 10 : 0])));
  r.out.bias!.assign(tf.tensor1d([-5]));
}

/** Naive loops: segments end at boundary tokens; means; token t reads the last completed segment. */
function naive(x: number[][][], bnd: number[][], y: (b: number, s: number) => number[], residual: boolean) {
  const B = x.length, L = x[0].length, D = x[0][0].length;
  const means: number[][][] = [];
  const restored: number[][][] = [];
  for (let b = 0; b < B; b++) {
    const segs: number[][] = [[]];
    for (let t = 0; t < L; t++) {
      segs[segs.length - 1].push(t);
      if (bnd[b][t] === 1 && t < L - 1) segs.push([]);
    }
    means.push(segs.map((ts) => Array.from({ length: D }, (_, d) => ts.reduce((a, t) => a + x[b][t][d], 0) / ts.length)));
    restored.push([]);
    let done = 0;
    for (let t = 0; t < L; t++) {
      done += bnd[b][t];
      const read = done >= 1 ? y(b, done - 1) : new Array(D).fill(0);
      restored[b].push(x[b][t].map((v, d) => (residual || done >= 1 ? (residual ? v : 0) + read[d] : v)));
    }
  }
  return { means, restored };
}

describe('dynamic pooling reducer', () => {
  beforeAll(() => useBackend('cpu'));
  const D = 4, L = 7;
  // boundaries (feature 0): row 0 → segments [0,1] [2] [3..5] [6]; row 1 → [0..4] [5,6]
  const bnd = [
    [0, 1, 1, 0, 0, 1, 0],
    [0, 0, 0, 0, 1, 0, 1],
  ];
  const input = () =>
    tf.tidy(() => {
      const rest = new Rng(3).normalTensor([2, L, D - 1]);
      return tf.concat([tf.tensor3d(bnd.map((r) => r.map((v) => [v]))), rest], 2);
    });

  it.each([true, false])('pools to the naive segment means and upsamples causally (residual %s)', (residual) => {
    const r = make({ residual }, D);
    wireBoundariesToFeature0(r, D);
    const x = input();
    const red = r.reduce(x, makeForwardContext(2, L));
    expect(red.x.shape).toEqual([2, 4, D]); // row 0 has 4 segments, row 1 has 2 (+2 padding)
    const y = new Rng(4).normalTensor([2, 4, D]);
    const yv = y.arraySync() as number[][][];
    const ref = naive(x.arraySync() as number[][][], bnd, (b, s) => yv[b][s], residual);
    const xs = red.x.arraySync() as number[][][];
    expectTensorsClose(tf.tensor(xs[0]), ref.means[0].flat(), { atol: 1e-5 });
    expectTensorsClose(tf.slice(red.x, [1, 0, 0], [1, 2, D]), ref.means[1].flat(), { atol: 1e-5 });
    expectTensorsClose(red.restore(y), ref.restored.flat(2), { atol: 1e-5 });
    // padding segments are marked; positions are those of each segment's last token
    expect(red.ctx.paddingMask!.arraySync()).toEqual([[1, 1, 1, 1], [1, 1, 0, 0]]);
    expect(red.ctx.positions.arraySync()).toEqual([[1, 2, 5, 6], [4, 6, 6, 6]]);
  });

  it('forces a boundary where packed sequences change and carries their ids', () => {
    const r = make({}, D);
    wireBoundariesToFeature0(r, D);
    const x = tf.concat([tf.zeros([1, 6, 1]), new Rng(5).normalTensor([1, 6, D - 1])], 2); // no predicted boundary
    const segmentIds = tf.tensor2d([[0, 0, 0, 1, 1, 1]], undefined, 'int32');
    const red = r.reduce(x, makeForwardContext(1, 6, { segmentIds }));
    expect(red.x.shape).toEqual([1, 2, D]);
    expect(red.ctx.segmentIds!.arraySync()).toEqual([[0, 1]]);
    const xv = (x.arraySync() as number[][][])[0];
    const mean = (ts: number[]) => Array.from({ length: D }, (_, d) => ts.reduce((a, t) => a + xv[t][d], 0) / ts.length);
    expectTensorsClose(red.x, [...mean([0, 1, 2]), ...mean([3, 4, 5])], { atol: 1e-5 });
  });

  it('training: seeded Gumbel-sigmoid noise, straight-through gradients reach the predictor, prior loss', () => {
    const r = make({ temperature: 1 }, D);
    const x = new Rng(7).normalTensor([2, 8, D]);
    const ctxOf = (seed: number, losses: Array<[string, number]>) =>
      makeForwardContext(2, 8, { training: true, rng: new Rng(seed), auxLosses: { add: (n, v, w = 1) => losses.push([n, v.dataSync()[0] * w]) } });
    const a = r.reduce(x, ctxOf(11, []));
    const b = r.reduce(x, ctxOf(11, []));
    expectTensorsClose(b.x, a.x, { atol: 0 }); // same seed, same segments
    // near-zero init logits: noise alone decides, so two seeds give different segmentations
    const shapes = [11, 12, 13, 14].map((s) => r.reduce(x, ctxOf(s, [])).ctx.positions.arraySync().toString());
    expect(new Set(shapes).size).toBeGreaterThan(1);
    const losses: Array<[string, number]> = [];
    const { grads } = tf.variableGrads(() => {
      const red = r.reduce(x, ctxOf(11, losses));
      return tf.sum(tf.mul(red.restore(tf.sin(red.x)), new Rng(9).normalTensor([2, 8, D]))) as tf.Scalar;
    }, [r.hidden.weight, r.out.weight]);
    expect(tf.max(tf.abs(grads[r.out.weight.name])).dataSync()[0]).toBeGreaterThan(0);
    expect(tf.max(tf.abs(grads[r.hidden.weight.name])).dataSync()[0]).toBeGreaterThan(0);
    expect(losses.map(([n]) => n)).toEqual(['dynamic-pooling.prior']);
    expect(losses[0][1]).toBeGreaterThanOrEqual(0);
  });

  it('is leak-free', async () => {
    const r = make({}, D);
    const x = new Rng(3).normalTensor([2, 6, D]);
    const ctx = makeForwardContext(2, 6);
    await expectNoLeaks(() => {
      const red = r.reduce(x, ctx);
      const out = red.restore(red.x);
      tf.dispose([out, red.x, red.ctx.positions, red.ctx.paddingMask!]);
    }, 3);
  });
});

reducerConformance('dynamic pooling', () => make({}, 8), { dModel: 8, causal: true, L: 8 });

describe('dynamic pooling in a causal LM', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, dynamicPooling);
  const base = { vocab: 12, dModel: 16, layers: 3, heads: 2, seed: 3 };
  const config = { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'dynamic-pooling' } }] };

  it('with a boundary at every token (identity pooling) equals the model without the reducer', () => {
    const reduced = buildModel(registry(), { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'dynamic-pooling', residual: false } }] }) as CausalLM;
    const plain = buildModel(registry(), base) as CausalLM;
    plain.loadStateDict(reduced.stateDict(), false);
    const predictor = reduced.namedModules().find(([, m]) => m instanceof DynamicPoolingReducer)![1] as DynamicPoolingReducer;
    predictor.out.bias!.assign(tf.tensor1d([50])); // p_t ≈ 1 everywhere
    const tokens = tf.tensor2d([[1, 5, 2, 9, 3, 3, 7, 0, 11], [4, 4, 8, 1, 0, 2, 6, 10, 5]], undefined, 'int32');
    const a = plain.forward(tokens);
    expectTensorsClose(reduced.forward(tokens), a, { atol: 1e-5 });
    // and the reducer is not inert: with few boundaries the output changes
    predictor.out.bias!.assign(tf.tensor1d([-50]));
    predictor.out.weight.assign(tf.zeros(predictor.out.weight.shape));
    expect(tf.max(tf.abs(tf.sub(reduced.forward(tokens), a))).dataSync()[0]).toBeGreaterThan(1e-4);
    reduced.dispose();
    plain.dispose();
  });

  it('is causal end to end: changing tokens after t leaves logits at <= t unchanged', () => {
    const model = buildModel(registry(), config) as CausalLM;
    // spread the predictor's logits so the segmentation depends on the tokens
    const r = model.namedModules().find(([, m]) => m instanceof DynamicPoolingReducer)![1] as DynamicPoolingReducer;
    r.hidden.weight.assign(new Rng(8).normalTensor(r.hidden.weight.shape, 0, 2));
    r.out.weight.assign(new Rng(9).normalTensor(r.out.weight.shape, 0, 1));
    const counts: number[] = [];
    const seen: number[] = [];
    const reduce = r.reduce.bind(r);
    jest.spyOn(r, 'reduce').mockImplementation((x, ctx) => {
      seen.push(...r.logits(x).dataSync());
      const red = reduce(x, ctx);
      counts.push(...(tf.sum(red.ctx.paddingMask ?? tf.onesLike(red.x).slice([0, 0, 0], [-1, -1, 1]).squeeze([2]), 1).arraySync() as number[]));
      return red;
    });
    const L = 11;
    const a = Array.from({ length: L }, (_, i) => (i * 5 + 1) % 12);
    // centre the logits on this input so about half of the tokens end a segment
    model.forward(tf.tensor2d([a], undefined, 'int32'));
    const sorted = [...seen].sort((u, v) => u - v);
    r.out.bias!.assign(tf.tensor1d([-sorted[Math.floor(sorted.length / 2)] + 1e-3]));
    counts.length = 0;
    for (const t of [0, 2, 3, 5, 8]) {
      const b = a.map((v, i) => (i > t ? (v + 7) % 12 : v));
      const la = model.forward(tf.tensor2d([a, b], undefined, 'int32'));
      const lb = model.forward(tf.tensor2d([b, a], undefined, 'int32'));
      expectTensorsClose(tf.slice(lb, [0, 0, 0], [2, t + 1, 12]), tf.slice(la, [0, 0, 0], [2, t + 1, 12]), { atol: 1e-5 });
      expect(tf.max(tf.abs(tf.sub(tf.slice(lb, [0, t + 1, 0], [1, 1, 12]), tf.slice(la, [0, t + 1, 0], [1, 1, 12])))).dataSync()[0]).toBeGreaterThan(1e-6);
    }
    // the segmentation is real (neither one segment nor every token) and differs between rows
    expect(Math.min(...counts)).toBeGreaterThan(1);
    expect(Math.max(...counts)).toBeLessThan(L);
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(model.canDecode()).toBe(false);
    model.dispose();
  });

  it('trains: loss falls on a tiny counting task without leaks', async () => {
    const model = buildModel(registry(), { ...config, vocab: 8 }) as CausalLM;
    const opt = tf.train.adam(0.02);
    const rng = new Rng(2);
    const losses: number[] = [];
    const batchOf = (): Batch => {
      const rows = Array.from({ length: 8 }, () => {
        const s = rng.int(8);
        return Array.from({ length: 13 }, (_, t) => (s + t) % 8);
      });
      return {
        inputs: tf.tensor(rows.map((r) => r.slice(0, 12)).flat(), [8, 12], 'int32'),
        targets: tf.tensor(rows.map((r) => r.slice(1)).flat(), [8, 12], 'int32'),
      };
    };
    await expectNoLeaks(() => {
      const batch = batchOf();
      const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, batch.inputs, batch.targets]);
    }, 30);
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
    opt.dispose();
    model.dispose();
  });

  it('refuses out-of-range options at config time, naming the field, the value and the fix', () => {
    const bad = (reducer: Record<string, unknown>) => () => buildModel(registry(), { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'dynamic-pooling', ...reducer } }] });
    expect(bad({ prior: 1.5 })).toThrow(ConfigError);
    expect(bad({ prior: 1.5 })).toThrow(/reducers\[0\]\.reducer\.prior: .*strictly between 0 and 1.*0\.2.*got 1\.5/);
    expect(bad({ temperature: 0 })).toThrow(/reducers\[0\]\.reducer\.temperature: .*must be > 0; use 0\.5 or 1; got 0/);
    expect(bad({ threshold: 1 })).toThrow(/reducers\[0\]\.reducer\.threshold: .*use 0\.5; got 1/);
  });
});
