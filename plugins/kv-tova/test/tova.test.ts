/** TOVA's cache policy: the eviction rule by hand, an independent decoding reference, budgets. */
import { ConfigError, createRegistry, Rng, tf, useBackend, type KVCache, type SequenceMixer, type StepContext } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM, type MultiHeadLayout } from '@weft/nn';
import tova, { TovaKVCache, TovaKVCacheFactory } from '../src/index.js';

const registry = () => createRegistry().use(standard, tova);

describe('eviction rule', () => {
  beforeAll(() => useBackend('cpu'));

  /** Keys whose first feature is the token's time index, so the kept set can be read back. */
  function filled(B: number, Lc: number, budget: number): TovaKVCache {
    const cache = new TovaKVCacheFactory(budget).create(B, { kvHeads: 1, headDim: 2 });
    const k = tf.tensor4d(Array.from({ length: B * Lc }, (_, i) => [i % Lc, 100 * Math.floor(i / Lc)]).flat(), [B, 1, Lc, 2]);
    const positions = tf.tensor2d(Array.from({ length: B * Lc }, (_, i) => 10 + (i % Lc)), [B, Lc], 'int32');
    cache.append(k, tf.mul(k, -1), positions);
    tf.dispose([k, positions]);
    return cache;
  }

  it('drops exactly the token with the lowest head-averaged weight of the last query, per batch row', () => {
    const cache = filled(2, 4, 3);
    // [B=2, H=2, T=2, Lc=4]. Row 0: head averages of the last query are [.3, .2, .25, .25] -> drop
    // token 1, although head 0 alone would drop token 3 and head 1 alone token 0. The first query
    // row (ignored) would drop token 2. Row 1: averages [.1, .4, .3, .2] -> drop token 0.
    const w = tf.tensor4d(
      [
        [[[0.3, 0.3, 0.1, 0.3], [0.5, 0.3, 0.2, 0.0]], [[0.3, 0.3, 0.1, 0.3], [0.1, 0.1, 0.3, 0.5]]],
        [[[0.0, 0.5, 0.5, 0.0], [0.1, 0.4, 0.3, 0.2]], [[0.0, 0.5, 0.5, 0.0], [0.1, 0.4, 0.3, 0.2]]],
      ].flat(3),
      [2, 2, 2, 4],
    );
    cache.observe(w);
    expect(cache.length).toBe(3);
    expect(Array.from(cache.positions().dataSync())).toEqual([10, 12, 13, 11, 12, 13]);
    expect(Array.from(cache.keys().dataSync())).toEqual([0, 0, 2, 0, 3, 0, 1, 100, 2, 100, 3, 100]);
    expect(Array.from(cache.values().dataSync(), (x) => x + 0)).toEqual([0, 0, -2, 0, -3, 0, -1, -100, -2, -100, -3, -100]);
    tf.dispose(w);
    cache.dispose();
  });

  it('drops several tokens at once (longest-held first on ties) and nothing while within budget', () => {
    const cache = filled(1, 5, 2);
    const w = tf.tensor4d([0.1, 0.3, 0.1, 0.4, 0.1], [1, 1, 1, 5]);
    cache.observe(w); // three tokens tie at 0.1: all three go, keeping tokens 1 and 3
    expect(Array.from(cache.positions().dataSync())).toEqual([11, 13]);
    const w2 = tf.tensor4d([0.9, 0.1], [1, 1, 1, 2]);
    cache.observe(w2); // at the budget: no eviction
    expect(cache.length).toBe(2);
    expect(cache.bytes()).toBe((2 * 1 * 1 * 2 * 2 + 1 * 2) * 4);
    tf.dispose([w, w2]);
    cache.dispose();
  });
});

/**
 * One attention sublayer decoded token by token with TOVA, by hand: per row a list of held
 * (k, v) pairs; each step appends the new pair, attends every head over the held pairs, and
 * while more than `budget` are held, drops the pair with the lowest head-averaged weight.
 */
function naiveTovaDecode(x: Float32Array, w: Record<'wq' | 'wk' | 'wv' | 'wo', Float32Array>, B: number, L: number, D: number, H: number, budget: number): Float64Array {
  const Dh = D / H;
  const lin = (row: ArrayLike<number>, W: Float32Array, out: number) =>
    Array.from({ length: out }, (_, j) => row.length && Array.from(row).reduce((s, xi, i) => s + xi * W[i * out + j], 0));
  const y = new Float64Array(B * L * D);
  for (let b = 0; b < B; b++) {
    const held: Array<{ k: number[]; v: number[] }> = [];
    for (let t = 0; t < L; t++) {
      const xt = x.slice((b * L + t) * D, (b * L + t + 1) * D);
      const [q, k, v] = [lin(xt, w.wq, D), lin(xt, w.wk, D), lin(xt, w.wv, D)];
      held.push({ k, v });
      const o = new Array<number>(D).fill(0);
      const avg = new Array<number>(held.length).fill(0);
      for (let h = 0; h < H; h++) {
        const logits = held.map((e) => e.k.slice(h * Dh, (h + 1) * Dh).reduce((s, kd, d) => s + kd * q[h * Dh + d], 0) / Math.sqrt(Dh));
        const m = Math.max(...logits);
        const p = logits.map((l) => Math.exp(l - m));
        const z = p.reduce((a, c) => a + c, 0);
        p.forEach((pj, j) => {
          avg[j] += pj / z / H;
          for (let d = 0; d < Dh; d++) o[h * Dh + d] += (pj / z) * held[j].v[h * Dh + d];
        });
      }
      while (held.length > budget) {
        let worst = 0;
        for (let j = 1; j < held.length; j++) if (avg[j] < avg[worst]) worst = j;
        held.splice(worst, 1);
        avg.splice(worst, 1);
      }
      lin(o, w.wo, D).forEach((yd, d) => (y[(b * L + t) * D + d] = yd));
    }
  }
  return y;
}

describeWithBackends('TOVA decoding', () => {
  const B = 2, L = 10, D = 8, H = 2;

  function makeMixer(budget: number) {
    const mixer = registry().create('mixer', { kind: 'attention', kvCache: { kind: 'tova', budget } }, { dims: { dModel: D, heads: H, headDim: D / H }, rng: new Rng(3) }) as SequenceMixer & { heads: MultiHeadLayout };
    // Peaked attention (the 0.02 init is nearly uniform), so which token is dropped matters.
    tf.tidy(() => [mixer.heads.wq.weight, mixer.heads.wk.weight].forEach((p) => p.assign(tf.mul(p, 40))));
    return mixer;
  }

  function decode(mixer: SequenceMixer, x: tf.Tensor, each?: (cache: KVCache) => void): tf.Tensor {
    let state = mixer.initState!(B);
    const outs: tf.Tensor[] = [];
    for (let t = 0; t < L; t++) {
      const positions = tf.fill([B, 1], t, 'int32');
      const ctx: StepContext = { training: false, rng: new Rng(0), layerIndex: 0, positions, scratch: new Map() };
      const xt = tf.slice(x, [0, t, 0], [B, 1, D]);
      const [y, next] = mixer.step!(xt, state, ctx);
      state = next;
      each?.(state as KVCache);
      outs.push(y);
      tf.dispose([xt, positions]);
    }
    const y = tf.concat(outs, 1);
    tf.dispose(outs);
    state.dispose();
    return y;
  }

  it('equals a hand-written TOVA decoder (budget 3 < length 10), and differs from full attention', () => {
    const mixer = makeMixer(3);
    const x = new Rng(4).normalTensor([B, L, D]);
    const y = decode(mixer, x);
    const h = mixer.heads;
    const w = { wq: h.wq.weight, wk: h.wk.weight, wv: h.wv.weight, wo: h.wo.weight };
    const ref = naiveTovaDecode(x.dataSync() as Float32Array, Object.fromEntries(Object.entries(w).map(([n, p]) => [n, p.dataSync()])) as never, B, L, D, H, 3);
    expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-4 });
    const full = mixer.forward(x, { causal: true, training: false, positions: tf.zeros([B, L], 'int32'), rng: new Rng(0), layerIndex: 0, scratch: new Map() });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(full, y))).dataSync()[0])).toBeGreaterThan(1e-3);
    tf.dispose([x, y, full]);
    mixer.dispose();
  });

  it('with budget >= length it reproduces full-attention decoding exactly, and never exceeds a budget', () => {
    const x = new Rng(5).normalTensor([B, L, D]);
    const big = makeMixer(L);
    const full = big.forward(x, { causal: true, training: false, positions: tf.zeros([B, L], 'int32'), rng: new Rng(0), layerIndex: 0, scratch: new Map() });
    const y = decode(big, x);
    expectTensorsClose(y, full, { atol: 1e-5, rtol: 1e-4 });
    const lengths: number[] = [];
    tf.dispose(decode(makeMixer(4), x, (c) => lengths.push(c.length)));
    expect(lengths).toEqual([1, 2, 3, 4, 4, 4, 4, 4, 4, 4]);
    tf.dispose([x, y, full]);
    big.dispose();
  });
});

describe('TOVA in a model', () => {
  beforeAll(() => useBackend('cpu'));
  const config = (budget: number) => ({ vocab: 13, dModel: 16, layers: 2, heads: 4, kvCache: { kind: 'tova', budget }, seed: 7 });

  it('cache bytes = layers · (2·B·Hkv·min(L, budget)·Dh + B·min(L, budget)) · 4, decoding without leaks, finite logits', async () => {
    const model = buildModel(registry(), config(5)) as CausalLM;
    const B = 2;
    const cache = model.initCache(B);
    tf.dispose(model.step(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]], [2, 8], 'int32'), cache)); // prompt longer than the budget
    expect(cache.layers.map((s) => (s as KVCache).length)).toEqual([5, 5]);
    expect(cache.bytes()).toBe(2 * (2 * B * 4 * 5 * 4 + B * 5) * 4);
    await expectNoLeaks(() => {
      const ids = tf.tensor2d([[3], [9]], [2, 1], 'int32');
      const logits = model.step(ids, cache);
      expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([ids, logits]);
    }, 12);
    expect(cache.bytes()).toBe(2 * (2 * B * 4 * 5 * 4 + B * 5) * 4);
    cache.dispose();
    model.dispose();
  });

  it('budget >= length: model.step == model.forward', () => {
    const model = buildModel(registry(), config(64)) as CausalLM;
    const ids = [[1, 5, 9, 2, 6, 10, 3]];
    const full = model.forward(tf.tensor2d(ids, [1, 7], 'int32'));
    const cache = model.initCache(1);
    const outs = ids[0].map((id) => model.step(tf.tensor2d([[id]], [1, 1], 'int32'), cache));
    expectTensorsClose(tf.concat(outs, 1), full, { atol: 1e-5, rtol: 1e-4 });
    cache.dispose();
    model.dispose();
  });

  it('a bad budget names the field, the value and the fix', () => {
    expect(() => buildModel(registry(), config(0))).toThrow(ConfigError);
    expect(() => buildModel(registry(), config(0))).toThrow(/kvCache\.budget/);
    expect(() => registry().validate('kvCache', { kind: 'tova' }, 'kvCache')).toThrow(/kvCache\.budget/);
    expect(() => registry().validate('kvCache', { kind: 'tova', budget: 2.5 }, 'kvCache')).toThrow(/2\.5/);
  });
});
