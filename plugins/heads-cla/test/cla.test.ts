/** Cross-layer attention: reference, reduction to MHA, decoding, cache size, training, errors. */
import { ConfigError, createRegistry, Rng, StateError, tf, useBackend, type Batch, type SequenceMixer } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import cla, { type CrossLayerHeads } from '../src/index.js';

beforeAll(() => useBackend('cpu'));

const registry = () => createRegistry().use(standard, cla);
const D = 16, H = 4, Dh = 4;
const lm = (extra: Record<string, unknown>) => buildModel(registry(), { vocab: 13, dModel: D, heads: H, layers: 4, seed: 5, ...extra }) as CausalLM;

/** [n, k] @ [k, m] in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) out[i * m + j] += a[i * k + t] * b[t * m + j];
  return out;
}

/** Causal multi-head attention by hand: q [L, H·Dh], k/v [L, H·Dh] of one batch row -> [L, H·Dh]. */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, L: number): Float64Array {
  const o = new Float64Array(L * H * Dh);
  for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) {
    const s = Array.from({ length: i + 1 }, (_, j) => {
      let dot = 0;
      for (let d = 0; d < Dh; d++) dot += q[i * H * Dh + h * Dh + d] * k[j * H * Dh + h * Dh + d];
      return dot / Math.sqrt(Dh);
    });
    const m = Math.max(...s);
    const p = s.map((x) => Math.exp(x - m));
    const z = p.reduce((a, b) => a + b, 0);
    for (let d = 0; d < Dh; d++) o[i * H * Dh + h * Dh + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[j * H * Dh + h * Dh + d], 0);
  }
  return o;
}

describe('reference', () => {
  it('a consumer layer attends with its own queries to the producer layer\'s keys/values (loops)', () => {
    const reg = registry();
    const model = reg.createScope(); // as buildModel: one container per model, one child per layer
    const make = (layerIndex: number) =>
      reg.create('mixer', { kind: 'attention', headLayout: { kind: 'cla', sharing: 2 }, kvCache: 'cla' }, { container: model.createChildContainer(), layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 2 }, rng: new Rng(layerIndex + 1) }) as SequenceMixer & { heads: CrossLayerHeads };
    const [m0, m1] = [make(0), make(1)];
    expect(m1.heads.wk).toBeUndefined();
    tf.tidy(() => [m0.heads.wk!.weight, m1.heads.wq.weight].forEach((p) => p.assign(tf.mul(p, 30)))); // peaked attention
    const B = 2, L = 5;
    const [x0, x1] = [new Rng(7).normalTensor([B, L, D]), new Rng(8).normalTensor([B, L, D])];
    const ctx = makeForwardContext(B, L); // one scratch for the whole forward
    const y0 = m0.forward(x0, { ...ctx, layerIndex: 0 });
    const y1 = m1.forward(x1, { ...ctx, layerIndex: 1 });
    const w = (p: tf.Tensor) => p.dataSync();
    for (let b = 0; b < B; b++) {
      const row = (x: tf.Tensor) => x.dataSync().slice(b * L * D, (b + 1) * L * D);
      const k = matmul(row(x0), w(m0.heads.wk!.weight), L, D, H * Dh);
      const v = matmul(row(x0), w(m0.heads.wv!.weight), L, D, H * Dh);
      const ref0 = matmul(attention(matmul(row(x0), w(m0.heads.wq.weight), L, D, H * Dh), k, v, L), w(m0.heads.wo.weight), L, H * Dh, D);
      const ref1 = matmul(attention(matmul(row(x1), w(m1.heads.wq.weight), L, D, H * Dh), k, v, L), w(m1.heads.wo.weight), L, H * Dh, D);
      expectTensorsClose(row(y0), ref0, { atol: 1e-5, rtol: 1e-4 });
      expectTensorsClose(row(y1), ref1, { atol: 1e-5, rtol: 1e-4 });
    }
    expect(ctx.scratch.size).toBe(0); // the last consumer released the shared K/V
    tf.dispose([x0, x1, y0, y1, ctx.positions]);
    m0.dispose();
    m1.dispose();
  });

  it('sharing 1 is multi-head attention: same parameters (names, init) and identical logits', () => {
    const base = lm({});
    const one = lm({ headLayout: { kind: 'cla', sharing: 1 }, kvCache: { kind: 'cla' } });
    expect(one.namedParameters().map(([n]) => n)).toEqual(base.namedParameters().map(([n]) => n));
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    const [a, b] = [one.forward(ids), base.forward(ids)];
    expectTensorsClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([ids, a, b]);
    one.dispose();
    base.dispose();
  });

  it('only producer layers own key/value projections', () => {
    const m = lm({ layers: 5, headLayout: { kind: 'cla', sharing: 2 } });
    const kv = m.namedParameters().map(([n]) => n).filter((n) => /\.w[kv]\.weight$/.test(n));
    expect(kv).toEqual(['blocks.0.mixer.heads.wk.weight', 'blocks.0.mixer.heads.wv.weight', 'blocks.2.mixer.heads.wk.weight', 'blocks.2.mixer.heads.wv.weight', 'blocks.4.mixer.heads.wk.weight', 'blocks.4.mixer.heads.wv.weight']);
    m.dispose();
  });
});

describe('decoding', () => {
  it.each([
    ['4 layers, s = 2', { layers: 4, headLayout: { kind: 'cla', sharing: 2 } }],
    ['5 layers, s = 2 (last group is one layer)', { layers: 5, headLayout: { kind: 'cla', sharing: 2 } }],
    ['4 layers, s = 3, kvHeads 2 (CLA + GQA)', { layers: 4, headLayout: { kind: 'cla', sharing: 3, kvHeads: 2 } }],
  ])('%s: prefill + token-by-token model.step == model.forward', (_n, extra) => {
    const m = lm({ ...extra, kvCache: { kind: 'cla' } });
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
    [4, 2, H],
    [5, 2, H],
    [6, 3, H],
    [5, 3, 1],
  ])('%i layers, s = %i, kvHeads %i: cache bytes = ⌈layers / s⌉ · (2·B·Hkv·L·Dh + B·L) · 4', (layers, sharing, kvHeads) => {
    const B = 3, L = 7;
    const bytes = (kvCache: string) => {
      const m = lm({ layers, headLayout: { kind: 'cla', sharing, kvHeads }, kvCache });
      const cache = m.initCache(B);
      const ids = tf.zeros([B, L], 'int32');
      tf.dispose([ids, m.step(ids, cache)]);
      const n = cache.bytes();
      cache.dispose();
      m.dispose();
      return n;
    };
    const perLayer = (2 * B * kvHeads * L * Dh + B * L) * 4;
    expect(bytes('cla')).toBe(Math.ceil(layers / sharing) * perLayer);
    expect(bytes('full')).toBe(layers * perLayer); // without the shared cache every layer stores a copy
  });

  it('a tiny CLA2 language model learns (loss falls) without leaking, and cached generation == recomputation', async () => {
    const m = buildModel(registry(), { vocab: 8, dModel: 16, heads: 4, layers: 2, headLayout: { kind: 'cla', sharing: 2 }, kvCache: 'cla', seed: 2 }) as CausalLM;
    const opt = tf.train.adam(0.03);
    const rng = new Rng(3);
    const losses: number[] = [];
    const batch = (): Batch => {
      const rows = Array.from({ length: 8 }, () => {
        const s = rng.int(8);
        return Array.from({ length: 9 }, (_, t) => (s + t) % 8); // counting mod 8
      });
      return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 8)), [8, 8], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 8], 'int32') };
    };
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => m.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 30);
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
    const cached = generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0 });
    expect(cached).toEqual(generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0, useCache: false }));
    opt.dispose();
    m.dispose();
  });
});

describe('errors', () => {
  it('a consumer whose producer uses another sharing (or no CLA) names the field and the fix', () => {
    let err: unknown;
    try {
      lm({ headLayout: { kind: 'cla', sharing: 2 }, layout: [null, { headLayout: { kind: 'cla', sharing: 3 } }, null, null] });
    } catch (e) {
      err = e;
    }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as ConfigError).path).toBe('layers[1].mixer.headLayout.sharing');
    expect((err as Error).message).toMatch(/layer 1 would reuse the keys\/values of layer 0 \(sharing 3\), but layer 0 uses sharing 2/);
    expect(() => lm({ layout: [null, { headLayout: { kind: 'cla', sharing: 2 } }, null, null] })).toThrow(/layer 0 does not use headLayout "cla"/);
  });

  it('kvCache "cla" without headLayout "cla", and a kvHeads that does not divide heads', () => {
    expect(() => lm({ kvCache: 'cla' })).toThrow(/layer 0 does not use headLayout "cla".*kvCache "full"/);
    expect(() => lm({ headLayout: { kind: 'cla', kvHeads: 3 } })).toThrow(/layers\[0\]\.mixer\.headLayout\.kvHeads: kvHeads 3 does not divide heads 4/);
    expect(() => registry().validate('heads', { kind: 'cla', sharing: 0 }, 'headLayout')).toThrow(/headLayout\.sharing/);
  });

  it('a consumer layer run alone says what to do', () => {
    const reg = registry();
    const scope = reg.createScope();
    const mk = (i: number) => reg.create('mixer', { kind: 'attention', headLayout: { kind: 'cla' } }, { container: scope.createChildContainer(), layerIndex: i, dims: { dModel: D, heads: H, headDim: Dh } }) as SequenceMixer;
    const [m0, m1] = [mk(0), mk(1)];
    const x = tf.zeros([1, 3, D]);
    const ctx = makeForwardContext(1, 3);
    expect(() => m1.forward(x, { ...ctx, layerIndex: 1 })).toThrow(StateError);
    tf.dispose([x, ctx.positions]);
    m0.dispose();
    m1.dispose();
  });
});

describe('training forward', () => {
  it('with kvHeads < heads (kv heads expanded by a gather for the gradient) equals the eval forward', () => {
    const m = lm({ headLayout: { kind: 'cla', sharing: 2, kvHeads: 1 } });
    const ids = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2]], [1, 7], 'int32');
    const [a, b] = [m.forward(ids, { training: true, rng: new Rng(0) }), m.forward(ids)];
    expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([ids, a, b]);
    m.dispose();
  });
});
