import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch, type Tensor } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext, reducerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import hourglass, { HourglassOptions, HourglassReducer } from '../src/index.js';

/** The paper's Algorithm 1 written out with loops on plain arrays (independent of the plugin). */
function naiveHourglass(
  x: number[][][], // [B][L][D]
  y: number[][][], // [B][L'][D], what the shortened layers return
  k: number,
  pool: { W: number[][]; b: number[] } | null, // W [k·D][D]; null = mean
  up: { W: number[][]; b: number[] } | null, // W [D][k·D]; null = repeat
): { shortened: number[][][]; restored: number[][][] } {
  const B = x.length, L = x[0].length, D = x[0][0].length;
  const Ls = Math.ceil(L / k);
  // ShiftRight keeps the length L: index i < L holds x[i − (k − 1)], the rest is zero padding.
  const shifted = (b: number, i: number) => (i - (k - 1) >= 0 && i < L ? x[b][i - (k - 1)] : new Array(D).fill(0));
  const shortened: number[][][] = [];
  const restored: number[][][] = [];
  for (let b = 0; b < B; b++) {
    shortened.push([]);
    for (let j = 0; j < Ls; j++) {
      const cat: number[] = [];
      for (let m = 0; m < k; m++) cat.push(...shifted(b, j * k + m));
      const s = new Array(D).fill(0);
      for (let d = 0; d < D; d++) {
        if (pool) {
          s[d] = pool.b[d];
          for (let c = 0; c < k * D; c++) s[d] += cat[c] * pool.W[c][d];
        } else {
          for (let m = 0; m < k; m++) s[d] += cat[m * D + d] / k;
        }
      }
      shortened[b].push(s);
    }
    restored.push([]);
    for (let t = 0; t < L; t++) {
      const j = Math.floor(t / k), m = t % k;
      const v = new Array(D).fill(0);
      for (let d = 0; d < D; d++) {
        let u = 0;
        if (up) {
          u = up.b[m * D + d];
          for (let c = 0; c < D; c++) u += y[b][j][c] * up.W[c][m * D + d];
        } else u = y[b][j][d];
        v[d] = x[b][t][d] + u;
      }
      restored[b].push(v);
    }
  }
  return { shortened, restored };
}

function make(options: Partial<HourglassOptions>, D: number, seed = 1): HourglassReducer {
  return new HourglassReducer(HourglassOptions.parse(options), { dModel: D }, new Rng(seed));
}

function linearParams(l: { weight: tf.Variable; bias?: tf.Variable } | undefined): { W: number[][]; b: number[] } | null {
  return l ? { W: l.weight.arraySync() as number[][], b: l.bias!.arraySync() as number[] } : null;
}

describe('hourglass reducer', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    [{ factor: 3 }, 7],
    [{ factor: 2 }, 8],
    [{ factor: 4, shortening: 'naive', upsampling: 'repeat' } as const, 6],
  ])('matches the naive shift + pool + upsample of Algorithm 1 (%j, L = %i)', (opts, L) => {
    const D = 4, B = 2;
    const r = make(opts, D);
    const k = r.options.factor;
    const x = new Rng(3).normalTensor([B, L, D]);
    const red = r.reduce(x, makeForwardContext(B, L));
    const Ls = Math.ceil(L / k);
    expect(red.x.shape).toEqual([B, Ls, D]);
    const y = new Rng(4).normalTensor([B, Ls, D]);
    const restored = red.restore(y);
    expect(restored.shape).toEqual([B, L, D]);
    const ref = naiveHourglass(x.arraySync() as number[][][], y.arraySync() as number[][][], k, linearParams(r.pool), linearParams(r.upsample));
    expectTensorsClose(red.x, ref.shortened.flat(2), { atol: 1e-5 });
    expectTensorsClose(restored, ref.restored.flat(2), { atol: 1e-5 });
  });

  it('carries positions, segment ids and the padding mask of the token each shortened vector stands at', () => {
    const r = make({ factor: 3 }, 4);
    const positions = tf.tensor2d([[0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 0, 1, 2, 3]], undefined, 'int32');
    const segmentIds = tf.tensor2d([[0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 2, 2, 2, 2]], undefined, 'int32');
    const paddingMask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]]);
    const ctx = makeForwardContext(2, 7, { positions, segmentIds, paddingMask });
    const red = r.reduce(new Rng(1).normalTensor([2, 7, 4]), ctx);
    // shortened j stands at index 3j: indices 0, 3, 6; positions are divided by k.
    expect(red.ctx.positions.arraySync()).toEqual([[0, 1, 2], [0, 0, 1]]);
    expect(red.ctx.segmentIds!.arraySync()).toEqual([[0, 0, 0], [1, 2, 2]]);
    expect(red.ctx.paddingMask!.arraySync()).toEqual([[1, 1, 1], [1, 1, 0]]);
    expect(red.ctx.positions.shape).toEqual([2, 3]);
  });

  it('differs from the identity and is leak-free', async () => {
    const r = make({ factor: 2 }, 4);
    const x = new Rng(3).normalTensor([1, 6, 4]);
    const ctx = makeForwardContext(1, 6);
    const out0 = r.reduce(x, ctx);
    expect(tf.max(tf.abs(tf.sub(out0.restore(out0.x), x))).dataSync()[0]).toBeGreaterThan(1e-3);
    await expectNoLeaks(() => {
      const red = r.reduce(x, ctx);
      const out = red.restore(red.x);
      tf.dispose([out, red.x, red.ctx.positions]);
    }, 3);
  });
});

reducerConformance('hourglass k=2', () => make({ factor: 2 }, 8), { dModel: 8, causal: true, L: 8 });
reducerConformance('hourglass k=3 (L not a multiple)', () => make({ factor: 3 }, 8), { dModel: 8, causal: true, L: 8 });

describe('hourglass in a causal LM', () => {
  beforeAll(() => useBackend('wasm'));
  const registry = () => createRegistry().use(standard, hourglass);
  const config = { vocab: 12, dModel: 16, layers: 3, heads: 2, reducers: [{ at: 1, span: 1, reducer: { kind: 'hourglass', factor: 3 } }], seed: 3 };

  it('is causal end to end: changing tokens after t leaves logits at <= t unchanged', () => {
    const model = buildModel(registry(), config) as CausalLM;
    const L = 11;
    const a = Array.from({ length: L }, (_, i) => (i * 5 + 1) % 12);
    for (const t of [0, 2, 3, 5, 8]) {
      const b = a.map((v, i) => (i > t ? (v + 7) % 12 : v));
      const la = model.forward(tf.tensor2d([a], undefined, 'int32'));
      const lb = model.forward(tf.tensor2d([b], undefined, 'int32'));
      expectTensorsClose(tf.slice(lb, [0, 0, 0], [1, t + 1, 12]), tf.slice(la, [0, 0, 0], [1, t + 1, 12]), { atol: 1e-5 });
      // and the change does show up later: the model is not ignoring its input
      expect(tf.max(tf.abs(tf.sub(tf.slice(lb, [0, t + 1, 0], [1, 1, 12]), tf.slice(la, [0, t + 1, 0], [1, 1, 12])))).dataSync()[0]).toBeGreaterThan(1e-6);
    }
    expect(model.canDecode()).toBe(false); // reducers change the sequence: generation recomputes
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

  it('refuses a factor below 2 at config time, naming the field, the value and the fix', () => {
    expect(() => buildModel(registry(), { ...config, reducers: [{ at: 1, span: 1, reducer: { kind: 'hourglass', factor: 1 } }] })).toThrow(ConfigError);
    expect(() => buildModel(registry(), { ...config, reducers: [{ at: 1, span: 1, reducer: { kind: 'hourglass', factor: 1 } }] })).toThrow(
      /reducers\[0\]\.reducer\.factor: .*at least 2.*use 2, 3 or 4; got 1/,
    );
  });
});

export type { Tensor };
