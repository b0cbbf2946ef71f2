/** MLKV: reference, equality with CLA, uneven groups, decoding, cache size, training, errors. */
import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch, type SequenceMixer } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, headLayoutConformance, makeForwardContext } from '@weft/core/testing';
import cla from '@weft/heads-cla';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import mlkv, { type MlkvHeads } from '../src/index.js';

beforeAll(() => useBackend('cpu'));

const registry = () => createRegistry().use(standard, mlkv, cla);
const D = 16, H = 4, Dh = 4;
const lm = (extra: Record<string, unknown>) => buildModel(registry(), { vocab: 13, dModel: D, heads: H, layers: 4, seed: 5, ...extra }) as CausalLM;

/** [n, k] @ [k, m] in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) out[i * m + j] += a[i * k + t] * b[t * m + j];
  return out;
}

/** Causal attention by loops for one batch row: q [L, H·Dh], k/v [L, Hkv·Dh]; head h reads kv head ⌊h / (H/Hkv)⌋. */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, L: number, Hkv: number): Float64Array {
  const o = new Float64Array(L * H * Dh);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    for (let i = 0; i < L; i++) {
      const s = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[i * H * Dh + h * Dh + d] * k[j * Hkv * Dh + g * Dh + d];
        return dot / Math.sqrt(Dh);
      });
      const m = Math.max(...s);
      const p = s.map((x) => Math.exp(x - m));
      const z = p.reduce((a, b) => a + b, 0);
      for (let d = 0; d < Dh; d++) o[i * H * Dh + h * Dh + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[j * Hkv * Dh + g * Dh + d], 0);
    }
  }
  return o;
}

describe('reference', () => {
  it('groups [1, 2]: layer 2 attends with its own queries to layer 1\'s single key/value head (loops)', () => {
    const reg = registry();
    const model = reg.createScope();
    const make = (layerIndex: number) =>
      reg.create('mixer', { kind: 'attention', headLayout: { kind: 'mlkv', groups: [1, 2] } }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 3 }, rng: new Rng(layerIndex + 1) }) as SequenceMixer & { heads: MlkvHeads };
    const [m0, m1, m2] = [make(0), make(1), make(2)];
    expect([m0.heads.wk, m1.heads.wk, m2.heads.wk].map((w) => w?.weight.shape)).toEqual([[D, Dh], [D, Dh], undefined]);
    tf.tidy(() => [m1.heads.wk!.weight, m2.heads.wq.weight].forEach((p) => p.assign(tf.mul(p, 30))));
    const B = 2, L = 5;
    const xs = [7, 8, 9].map((s) => new Rng(s).normalTensor([B, L, D]));
    const ctx = makeForwardContext(B, L);
    const ys = [m0, m1, m2].map((m, i) => m.forward(xs[i], { ...ctx, layerIndex: i }));
    const w = (p: tf.Tensor) => p.dataSync();
    for (let b = 0; b < B; b++) {
      const row = (x: tf.Tensor) => x.dataSync().slice(b * L * D, (b + 1) * L * D);
      const k = matmul(row(xs[1]), w(m1.heads.wk!.weight), L, D, Dh);
      const v = matmul(row(xs[1]), w(m1.heads.wv!.weight), L, D, Dh);
      const ref2 = matmul(attention(matmul(row(xs[2]), w(m2.heads.wq.weight), L, D, H * Dh), k, v, L, 1), w(m2.heads.wo.weight), L, H * Dh, D);
      expectTensorsClose(row(ys[2]), ref2, { atol: 1e-5, rtol: 1e-4 });
    }
    expect(ctx.scratch.size).toBe(0);
    tf.dispose([...xs, ...ys, ctx.positions]);
    [m0, m1, m2].forEach((m) => m.dispose());
  });

  it.each([
    [2, 1],
    [2, 2],
    [3, 4],
  ])('groups %i, kvHeads %i equals CLA (sharing %i, same kvHeads): same parameters and identical logits', (s, kvHeads) => {
    const a = lm({ headLayout: { kind: 'mlkv', groups: s, kvHeads } });
    const b = lm({ headLayout: { kind: 'cla', sharing: s, kvHeads } });
    expect(a.namedParameters().map(([n]) => n)).toEqual(b.namedParameters().map(([n]) => n));
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    const [ya, yb] = [a.forward(ids), b.forward(ids)];
    expectTensorsClose(ya, yb, { atol: 0, rtol: 0 });
    tf.dispose([ids, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('uneven groups [1, 3]: only layers 0 and 1 own key/value projections, and they differ from equal groups', () => {
    const m = lm({ headLayout: { kind: 'mlkv', groups: [1, 3] } });
    expect(m.namedParameters().map(([n]) => n).filter((n) => /\.w[kv]\.weight$/.test(n))).toEqual([
      'blocks.0.mixer.heads.wk.weight', 'blocks.0.mixer.heads.wv.weight', 'blocks.1.mixer.heads.wk.weight', 'blocks.1.mixer.heads.wv.weight',
    ]);
    m.dispose();
  });
});

describe('decoding', () => {
  it.each([
    ['groups 2, kvHeads 1 (4 layers)', { headLayout: { kind: 'mlkv', groups: 2 } }],
    ['groups [1, 3], kvHeads 2', { headLayout: { kind: 'mlkv', groups: [1, 3], kvHeads: 2 } }],
    ['groups 3 (last group 1 layer), kvHeads 4', { headLayout: { kind: 'mlkv', groups: 3, kvHeads: 4 } }],
  ])('%s: prefill + token-by-token model.step == model.forward', (_n, extra) => {
    const m = lm({ ...extra, kvCache: 'mlkv' });
    const ids = [[1, 4, 2, 8, 5, 7, 3, 0, 9], [6, 6, 1, 10, 2, 3, 4, 5, 1]];
    const input = tf.tensor2d(ids, [2, 9], 'int32');
    const full = m.forward(input);
    const cache = m.initCache(2);
    const feeds = [ids.map((r) => r.slice(0, 4)), ...[4, 5, 6, 7, 8].map((t) => ids.map((r) => [r[t]]))];
    const outs = feeds.map((f) => {
      const x = tf.tensor2d(f, [2, f[0].length], 'int32');
      const y = m.step(x, cache);
      x.dispose();
      return y;
    });
    expectTensorsClose(tf.concat(outs, 1), full, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([input, full, ...outs]);
    cache.dispose();
    m.dispose();
  });

  it.each([
    [4, 2, 1, 2],
    [4, [1, 3], 1, 2],
    [5, 2, 2, 3],
    [4, 4, 1, 1],
  ])('%i layers, groups %j, kvHeads %i: cache bytes = groups (%i) · (2·B·Hkv·L·Dh + B·L) · 4', (layers, groups, kvHeads, groupCount) => {
    const B = 3, L = 7;
    const bytes = (kvCache: string) => {
      const m = lm({ layers, headLayout: { kind: 'mlkv', groups, kvHeads }, kvCache });
      const cache = m.initCache(B);
      const ids = tf.zeros([B, L], 'int32');
      tf.dispose([ids, m.step(ids, cache)]);
      const n = cache.bytes();
      cache.dispose();
      m.dispose();
      return n;
    };
    const perGroup = (2 * B * kvHeads * L * Dh + B * L) * 4;
    expect(bytes('mlkv')).toBe(groupCount * perGroup);
    expect(bytes('full')).toBe(layers * perGroup); // without the shared cache every layer stores a copy
  });
});

describe('training', () => {
  it('a tiny MLKV language model (one kv head for 2 layers) learns without leaking', async () => {
    const m = buildModel(registry(), { vocab: 8, dModel: 16, heads: 4, layers: 2, headLayout: { kind: 'mlkv', groups: 2 }, kvCache: 'mlkv', seed: 2 }) as CausalLM;
    const opt = tf.train.adam(0.03);
    const rng = new Rng(3);
    const losses: number[] = [];
    const batch = (): Batch => {
      const rows = Array.from({ length: 8 }, () => {
        const s = rng.int(8);
        return Array.from({ length: 9 }, (_, t) => (s + t) % 8);
      });
      return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 8)), [8, 8], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 8], 'int32') };
    };
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => m.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 30);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.6);
    opt.dispose();
    m.dispose();
  });
});

describe('errors', () => {
  it('group sizes that do not add up to the layers fail at build time with the path and a fix', () => {
    expect(() => lm({ headLayout: { kind: 'mlkv', groups: [1, 2] } })).toThrow(ConfigError);
    expect(() => lm({ headLayout: { kind: 'mlkv', groups: [1, 2] } })).toThrow(/headLayout\.groups.*cover 3 layers but the model has 4.*e\.g\. \[2, 2\]/s);
  });

  it('kvHeads not dividing heads, and a group whose first layer is not MLKV, fail at build time', () => {
    expect(() => lm({ headLayout: { kind: 'mlkv', kvHeads: 3 } })).toThrow(/kvHeads 3 does not divide heads 4/);
    expect(() => lm({ headLayout: { kind: 'mlkv', groups: 2 }, layout: [{ mixer: { kind: 'attention', headLayout: { kind: 'mha' } } }, null, null, null] })).toThrow(/layer 1 would use the keys\/values of layer 0.*does not use headLayout "mlkv"/);
  });

  it('kvCache "mlkv" without headLayout "mlkv" fails', () => {
    expect(() => lm({ kvCache: 'mlkv' })).toThrow(/kvCache "mlkv".*does not use headLayout "mlkv"/);
  });
});

headLayoutConformance('mlkv (first layer of a group)', () => registry().create('heads', { kind: 'mlkv', kvHeads: 2 }, { dims: { dModel: 16, heads: 4, headDim: 4, layers: 1 } }), { dModel: 16 });
