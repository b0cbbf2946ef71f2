import { ConfigError, createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import funnel, { FunnelOptions, FunnelReducer } from '../src/index.js';

const make = (stride: number) => new FunnelReducer(FunnelOptions.parse({ stride }));

describe('funnel reducer', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    [2, 8],
    [2, 7],
    [3, 10],
  ])('pooled == the naive mean of each stride-%i window, restore == repetition + residual (L = %i)', (S, L) => {
    const B = 2, D = 3;
    const x = new Rng(1).normalTensor([B, L, D]);
    const red = make(S).reduce(x, makeForwardContext(B, L, { causal: false }));
    const Lp = Math.ceil(L / S);
    expect(red.x.shape).toEqual([B, Lp, D]);
    const xs = x.arraySync() as number[][][];
    const expected: number[] = [];
    for (let b = 0; b < B; b++)
      for (let j = 0; j < Lp; j++)
        for (let d = 0; d < D; d++) {
          let sum = 0, n = 0;
          for (let t = j * S; t < Math.min(L, (j + 1) * S); t++) {
            sum += xs[b][t][d];
            n++;
          }
          expected.push(sum / n);
        }
    expectTensorsClose(red.x, expected, { atol: 1e-6 });
    const y = new Rng(2).normalTensor([B, Lp, D]);
    const ys = y.arraySync() as number[][][];
    const restored = red.restore(y);
    expect(restored.shape).toEqual([B, L, D]);
    const up: number[] = [];
    for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) for (let d = 0; d < D; d++) up.push(ys[b][Math.floor(t / S)][d] + xs[b][t][d]);
    expectTensorsClose(restored, up, { atol: 1e-6 });
  });

  it('carries stride-sampled positions and segment ids and a min-pooled padding mask', () => {
    const ctx = makeForwardContext(1, 5, {
      causal: false,
      segmentIds: tf.tensor2d([[0, 0, 1, 1, 1]], undefined, 'int32'),
      paddingMask: tf.tensor2d([[1, 1, 1, 0, 0]]),
    });
    const red = make(2).reduce(new Rng(1).normalTensor([1, 5, 4]), ctx);
    expect(red.ctx.positions.arraySync()).toEqual([[0, 2, 4]]);
    expect(red.ctx.segmentIds!.arraySync()).toEqual([[0, 1, 1]]);
    expect(red.ctx.paddingMask!.arraySync()).toEqual([[1, 0, 0]]);
  });

  it('is leak-free', async () => {
    const x = new Rng(3).normalTensor([1, 6, 4]);
    const ctx = makeForwardContext(1, 6, { causal: false });
    await expectNoLeaks(() => {
      const red = make(2).reduce(x, ctx);
      tf.dispose([red.restore(red.x), red.x, red.ctx.positions]);
    }, 3);
  });
});

reducerConformance('funnel', () => make(2), { dModel: 8, causal: false, L: 8 });
reducerConformance('funnel (L not a multiple of the stride)', () => make(3), { dModel: 8, causal: false, L: 7 });

describe('funnel in models', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, funnel);
  const base = { vocab: 8, dModel: 16, layers: 3, heads: 2, seed: 1 };

  it('is refused in a causal model with a message that names the reducer and the fix', () => {
    const config = { ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'funnel' } }] };
    expect(() => buildModel(registry(), config)).toThrow(ConfigError);
    expect(() => buildModel(registry(), config)).toThrow(/reducers\[0\]\.reducer.*"funnel" is not causal.*Use a causal reducer or a bidirectional model/);
  });

  it('refuses a stride below 2 at config time', () => {
    expect(() => registry().validate('reducer', { kind: 'funnel', stride: 1 }, 'reducers[0].reducer')).toThrow(
      /reducers\[0\]\.reducer\.stride: .*at least 2.*got 1/,
    );
  });

  it('trains in an encoder classifier (task "classifier"): loss falls on "are the tokens from {5, 6, 7} or {2, 3, 4}?"', async () => {
    const reg = registry();
    const config = { ...base, task: 'classifier', classes: 2, reducers: [{ at: 1, span: 1, reducer: { kind: 'funnel', stride: 2 } }] };
    const model = buildModel(reg, config) as EncoderClassifier; // the builder accepts it in a bidirectional model
    const opt = tf.train.adam(0.02);
    const rng = new Rng(5);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const rows: number[][] = [];
      const labels: number[] = [];
      for (let b = 0; b < 16; b++) {
        const label = rng.int(2);
        const row = Array.from({ length: 12 }, () => (label ? 5 : 2) + rng.int(3));
        rows.push(row);
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
