import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import randomLtd, {
  RandomLtdController,
  RandomLtdOptions,
  RandomLtdReducer,
  RandomLtdSchedule,
  RandomLtdScheduleOptions,
  randomLtdController,
  type RandomLtdReduction,
} from '../src/index.js';

const make = (keep: number, controller = new RandomLtdController()) => new RandomLtdReducer(RandomLtdOptions.parse({ keep }), controller, 'test');

describe('random-ltd reducer', () => {
  beforeAll(() => useBackend('cpu'));

  it('keeps a sorted random subset of size r per sequence, fixed by the seed and different across seeds', () => {
    const B = 3, L = 16, D = 2;
    const x = new Rng(1).normalTensor([B, L, D]);
    const draw = (seed: number, keep: number) =>
      (make(keep).reduce(x, makeForwardContext(B, L, { training: true, rng: new Rng(seed) })) as RandomLtdReduction).keptIndices!;
    const a = draw(7, 6);
    expect(a).toHaveLength(B);
    for (const row of a) {
      expect(row).toHaveLength(6);
      expect(new Set(row).size).toBe(6);
      expect([...row].sort((p, q) => p - q)).toEqual(row);
      for (const t of row) expect(t >= 0 && t < L).toBe(true);
    }
    expect(draw(7, 6)).toEqual(a); // same seed, same subset
    expect(draw(8, 6)).not.toEqual(a); // another seed, another subset
    expect(a[0]).not.toEqual(a[1]); // each sequence draws its own
    expect(draw(7, 0.25)[0]).toHaveLength(4); // a fraction of L
    // every token is kept about equally often (uniform without replacement)
    const counts = new Array(L).fill(0);
    for (let s = 0; s < 200; s++) for (const t of draw(s, 4)[0]) counts[t]++;
    for (const c of counts) expect(c).toBeGreaterThan(20); // expected 50
  });

  it('gathers the kept tokens (with their positions, segment ids, padding), and dropped tokens pass unchanged', () => {
    const B = 2, L = 9, D = 3;
    const x = new Rng(2).normalTensor([B, L, D]);
    const segmentIds = tf.tensor2d([[0, 0, 0, 0, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2, 2, 2, 2]], undefined, 'int32');
    const paddingMask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1]]);
    const ctx = makeForwardContext(B, L, { training: true, rng: new Rng(3), segmentIds, paddingMask });
    const red = make(4).reduce(x, ctx) as RandomLtdReduction;
    const kept = red.keptIndices!;
    const xs = x.arraySync() as number[][][];
    expect(red.x.shape).toEqual([B, 4, D]);
    expectTensorsClose(red.x, kept.flatMap((row, b) => row.flatMap((t) => xs[b][t])), { atol: 0 });
    expect(red.ctx.positions.arraySync()).toEqual(kept); // default positions are the indices
    const segs = segmentIds.arraySync() as number[][], pads = paddingMask.arraySync() as number[][];
    expect(red.ctx.segmentIds!.arraySync()).toEqual(kept.map((row, b) => row.map((t) => segs[b][t])));
    expect(red.ctx.paddingMask!.arraySync()).toEqual(kept.map((row, b) => row.map((t) => pads[b][t])));
    const out = (red.restore(tf.add(red.x, 1)).arraySync() as number[][][]);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < L; t++)
        for (let d = 0; d < D; d++) expect(out[b][t][d]).toBeCloseTo(xs[b][t][d] + (kept[b].includes(t) ? 1 : 0), 6);
  });

  it('keeps every token at evaluation and when r >= L, exactly', () => {
    const x = new Rng(2).normalTensor([1, 6, 2]);
    const ev = make(2).reduce(x, makeForwardContext(1, 6, { training: false }));
    expect(ev.x).toBe(x);
    const all = make(6).reduce(x, makeForwardContext(1, 6, { training: true }));
    expect(all.x).toBe(x);
    expect(all.restore(x)).toBe(x);
  });

  it('gradients reach the kept tokens through the layer and the dropped tokens directly', () => {
    const x = new Rng(2).normalTensor([1, 6, 2]);
    const ctx = makeForwardContext(1, 6, { training: true, rng: new Rng(4) });
    const kept = (make(3).reduce(x, ctx) as RandomLtdReduction).keptIndices![0];
    const g = tf.grad((v: tf.Tensor) => {
      const red = make(3).reduce(v, ctx);
      return tf.sum(red.restore(tf.mul(red.x, 3)));
    })(x).arraySync() as number[][][];
    for (let t = 0; t < 6; t++) expect(g[0][t]).toEqual(kept.includes(t) ? [3, 3] : [1, 1]);
  });

  it('is leak-free', async () => {
    const x = new Rng(3).normalTensor([2, 8, 4]);
    const ctx = makeForwardContext(2, 8, { training: true });
    await expectNoLeaks(() => {
      const red = make(3).reduce(x, ctx);
      tf.dispose([red.restore(red.x), red.x, red.ctx.positions]);
    }, 3);
  });

  it('refuses a fractional token count at config time', () => {
    const reg = createRegistry().use(randomLtd);
    expect(() => reg.validate('reducer', { kind: 'random-ltd', keep: 1.5 }, 'reducers[0].reducer')).toThrow(
      /reducers\[0\]\.reducer\.keep: keep must be a whole token count when >= 1.*got 1\.5/,
    );
    expect(() => reg.validate('reducer', { kind: 'random-ltd', keep: 0 }, 'reducers[0].reducer')).toThrow(ConfigError);
  });
});

reducerConformance('random-ltd (evaluation: keeps all)', () => make(3), { dModel: 8, causal: true, L: 8 });

describe('the kept-length schedule', () => {
  it('grows r linearly from minValue to maxValue in multiples of seqPerStep (DeepSpeed fixed_linear)', () => {
    const opts = RandomLtdScheduleOptions.parse({ minValue: 16, maxValue: 128, requireSteps: 100, seqPerStep: 16 });
    const controller = new RandomLtdController();
    const schedule = new RandomLtdSchedule(opts, controller);
    const seen: number[] = [];
    for (const step of [0, 10, 15, 50, 99, 100, 500]) {
      schedule.beforeStep(step);
      seen.push(controller.keep!);
    }
    // 16 + 112·s/100, floored, rounded down to a multiple of 16, capped at 128
    expect(seen).toEqual([16, 16, 32, 64, 112, 128, 128]);
  });

  it('refuses maxValue < minValue, naming the field', () => {
    const opts = RandomLtdScheduleOptions.parse({ minValue: 64, maxValue: 32, requireSteps: 10 });
    expect(() => new RandomLtdSchedule(opts, undefined, 'hooks[0]')).toThrow(/hooks\[0\]\.maxValue.*\(32\) is below minValue \(64\).*raise maxValue/);
  });
});

describe('random-ltd in a causal LM', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, randomLtd);
  const base = { vocab: 12, dModel: 16, layers: 3, heads: 2, seed: 4 };
  const withLtd = (keep: number) => ({ ...base, reducers: [{ at: 1, span: 1, reducer: { kind: 'random-ltd', keep } }] });
  const ids = tf.tensor2d([[1, 5, 9, 2, 7, 3, 11, 0, 4, 6]], undefined, 'int32');

  it('with every token kept it equals the model without the reducer exactly (training and evaluation)', () => {
    const plain = buildModel(registry(), base) as CausalLM;
    const all = buildModel(registry(), withLtd(10)) as CausalLM;
    const half = buildModel(registry(), withLtd(0.5)) as CausalLM;
    const ref = plain.forward(ids, { training: true, rng: new Rng(1) });
    expectTensorsClose(all.forward(ids, { training: true, rng: new Rng(1) }), ref, { atol: 0, rtol: 0 });
    expectTensorsClose(half.forward(ids, { training: false }), plain.forward(ids, { training: false }), { atol: 0, rtol: 0 }); // eval keeps all
    // and dropping half the tokens for one layer does change the output while training
    expect(tf.max(tf.abs(tf.sub(half.forward(ids, { training: true, rng: new Rng(1) }), ref))).dataSync()[0]).toBeGreaterThan(1e-4);
    [plain, all, half].forEach((m) => m.dispose());
  });

  it('stays causal while dropping: changing tokens after t leaves logits at <= t unchanged (same draw)', () => {
    const model = buildModel(registry(), withLtd(0.5)) as CausalLM;
    const a = ids.arraySync()[0] as number[];
    for (const t of [0, 3, 6]) {
      const b = tf.tensor2d([a.map((v, i) => (i > t ? (v + 5) % 12 : v))], undefined, 'int32');
      const la = model.forward(ids, { training: true, rng: new Rng(9) });
      const lb = model.forward(b, { training: true, rng: new Rng(9) });
      expectTensorsClose(tf.slice(lb, [0, 0, 0], [1, t + 1, 12]), tf.slice(la, [0, 0, 0], [1, t + 1, 12]), { atol: 1e-5 });
    }
    model.dispose();
  });

  it('a schedule built by the registry drives every random-ltd reducer of a model (attach)', () => {
    const reg = registry();
    const model = buildModel(reg, { ...base, layers: 4, reducers: [1, 2].map((at) => ({ at, span: 1, reducer: { kind: 'random-ltd', keep: 0.5 } })) }) as CausalLM;
    const hook = (reg.create('trainer', { kind: 'random-ltd-schedule', minValue: 2, maxValue: 10, requireSteps: 4, seqPerStep: 2 }) as RandomLtdSchedule).attach(model);
    const controller = randomLtdController(model);
    const reducers = model.namedModules().map(([, m]) => m).filter((m): m is RandomLtdReducer => m instanceof RandomLtdReducer);
    expect(reducers).toHaveLength(2);
    for (const r of reducers) expect(r.controller).toBe(controller); // one controller per model
    hook.beforeStep(1); // r = 4
    const red = reducers[0].reduce(tf.zeros([1, 10, 16]), makeForwardContext(1, 10, { training: true })) as RandomLtdReduction;
    expect(red.keptIndices![0]).toHaveLength(4);
    // another model has its own controller
    const other = buildModel(reg, withLtd(0.5)) as CausalLM;
    expect(randomLtdController(other)).not.toBe(controller);
    expect(() => randomLtdController(buildModel(reg, base) as CausalLM)).toThrow(/no random-ltd reducer/);
    model.dispose();
    other.dispose();
  });

  it('trains: loss falls on a counting task with half the tokens dropped in the middle layer', async () => {
    const model = buildModel(registry(), { ...withLtd(0.5), vocab: 8 }) as CausalLM;
    const opt = tf.train.adam(0.02);
    const rng = new Rng(2);
    const losses: number[] = [];
    await expectNoLeaks((i) => {
      const rows = Array.from({ length: 8 }, () => {
        const s = rng.int(8);
        return Array.from({ length: 13 }, (_, t) => (s + t) % 8);
      });
      const batch: Batch = {
        inputs: tf.tensor(rows.map((r) => r.slice(0, 12)).flat(), [8, 12], 'int32'),
        targets: tf.tensor(rows.map((r) => r.slice(1)).flat(), [8, 12], 'int32'),
      };
      const loss = opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(100 + i) }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, batch.inputs, batch.targets]);
    }, 30);
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
    opt.dispose();
    model.dispose();
  });
});
