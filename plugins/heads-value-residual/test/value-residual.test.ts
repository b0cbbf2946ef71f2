/** ResFormer / SVFormer: reference, reduction to MHA, decoding, cache size, training, errors. */
import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch, type SequenceMixer } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, headLayoutConformance, makeForwardContext } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import valueResidual, { type ValueResidualHeads } from '../src/index.js';
import { causalAttention, matmul } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const registry = () => createRegistry().use(standard, valueResidual);
const D = 16, H = 4, Dh = 4;
const lm = (extra: Record<string, unknown>) => buildModel(registry(), { vocab: 13, dModel: D, heads: H, layers: 3, seed: 5, ...extra }) as CausalLM;
type VrMixer = SequenceMixer & { heads: ValueResidualHeads };

/** Two attention mixers of one model scope (layer 0 and layer 1), as buildModel makes them. */
function twoLayers(headLayout: Record<string, unknown>): [VrMixer, VrMixer] {
  const reg = registry();
  const model = reg.createScope();
  const make = (layerIndex: number) =>
    reg.create('mixer', { kind: 'attention', headLayout }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 2 }, rng: new Rng(layerIndex + 1) }) as VrMixer;
  return [make(0), make(1)];
}

describe('reference', () => {
  it.each([
    ['resformer λ1 = 0.3, λ2 = 0.7', { kind: 'resformer', lambda1: 0.3, lambda2: 0.7 }, 0.3, 0.7],
    ['svformer', { kind: 'svformer' }, 0, 1],
  ])('%s: layer 2 attends to λ1·V_2 + λ2·V_1 (naive loops)', (_n, headLayout, l1, l2) => {
    const [m0, m1] = twoLayers(headLayout);
    tf.tidy(() => [m0.heads.wk.weight, m1.heads.wq.weight].forEach((p) => p.assign(tf.mul(p, 30)))); // peaked attention
    const B = 2, L = 5;
    const [x0, x1] = [new Rng(7).normalTensor([B, L, D]), new Rng(8).normalTensor([B, L, D])];
    const ctx = makeForwardContext(B, L); // one scratch for the whole forward
    const y0 = m0.forward(x0, { ...ctx, layerIndex: 0 });
    const y1 = m1.forward(x1, { ...ctx, layerIndex: 1 });
    const w = (p?: tf.Tensor) => (p ? p.dataSync() : new Float32Array(D * D));
    for (let b = 0; b < B; b++) {
      const row = (x: tf.Tensor) => x.dataSync().slice(b * L * D, (b + 1) * L * D);
      const proj = (x: tf.Tensor, p?: tf.Tensor) => matmul(row(x), w(p), L, D, H * Dh);
      const v1 = proj(x0, m0.heads.wv!.weight);
      const ref0 = matmul(causalAttention(proj(x0, m0.heads.wq.weight), proj(x0, m0.heads.wk.weight), v1, L, H, Dh), w(m0.heads.wo.weight), L, H * Dh, D);
      const vn = proj(x1, m1.heads.wv?.weight);
      const mixed = vn.map((v, i) => l1 * v + l2 * v1[i]);
      const ref1 = matmul(causalAttention(proj(x1, m1.heads.wq.weight), proj(x1, m1.heads.wk.weight), mixed, L, H, Dh), w(m1.heads.wo.weight), L, H * Dh, D);
      expectTensorsClose(row(y0), ref0, { atol: 1e-5, rtol: 1e-4 });
      expectTensorsClose(row(y1), ref1, { atol: 1e-5, rtol: 1e-4 });
    }
    expect(ctx.scratch.size).toBe(0); // the last reader released V_1
    tf.dispose([x0, x1, y0, y1, ctx.positions]);
    m0.dispose();
    m1.dispose();
  });

  it('λ1 = 1, λ2 = 0 is vanilla multi-head attention: same parameters (names, init) and identical logits', () => {
    const base = lm({});
    const res = lm({ headLayout: { kind: 'resformer', lambda1: 1, lambda2: 0 } });
    expect(res.namedParameters().map(([n]) => n)).toEqual(base.namedParameters().map(([n]) => n));
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    const [a, b] = [res.forward(ids), base.forward(ids)];
    expectTensorsClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([ids, a, b]);
    res.dispose();
    base.dispose();
  });

  it('the paper default (λ = 0.5 / 0.5) and SVFormer differ from vanilla attention with the same weights', () => {
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    const base = lm({});
    const ref = base.forward(ids);
    for (const headLayout of [{ kind: 'resformer' }, { kind: 'svformer' }]) {
      const m = lm({ headLayout });
      const y = m.forward(ids);
      expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBeGreaterThan(1e-4);
      tf.dispose(y);
      m.dispose();
    }
    tf.dispose([ids, ref]);
    base.dispose();
  });

  it('SVFormer: only layer 0 owns a value projection; learnable ResFormer adds λ1, λ2 to layers ≥ 1', () => {
    const names = (headLayout: object) => {
      const m = lm({ headLayout });
      const n = m.namedParameters().map(([p]) => p).filter((p) => /heads\.(wv\.weight|lambda[12])$/.test(p));
      m.dispose();
      return n;
    };
    expect(names({ kind: 'svformer' })).toEqual(['blocks.0.mixer.heads.wv.weight']);
    expect(names({ kind: 'resformer', learnable: true }).sort()).toEqual([
      'blocks.0.mixer.heads.wv.weight',
      'blocks.1.mixer.heads.wv.weight', 'blocks.1.mixer.heads.lambda1', 'blocks.1.mixer.heads.lambda2',
      'blocks.2.mixer.heads.wv.weight', 'blocks.2.mixer.heads.lambda1', 'blocks.2.mixer.heads.lambda2',
    ].sort());
  });
});

describe('decoding', () => {
  it.each([
    ['resformer (0.5 / 0.5)', { headLayout: { kind: 'resformer' } }],
    ['learnable resformer (λ moved off init)', { headLayout: { kind: 'resformer', learnable: true, lambda1: 0.8, lambda2: 0.4 } }],
    ['svformer + kvCache svformer', { headLayout: { kind: 'svformer' }, kvCache: 'svformer' }],
    ['svformer + kvCache full', { headLayout: { kind: 'svformer' } }],
  ])('%s: prefill + token-by-token model.step == model.forward', (_n, extra) => {
    const m = lm(extra);
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

  it.each([2, 3])('%i layers: SVFormer cache bytes = N·K + one V (+ positions) = (N·B·H·L·Dh + B·H·L·Dh + N·B·L) · 4', (layers) => {
    const B = 3, L = 7;
    const bytes = (extra: object) => {
      const m = lm({ layers, ...extra });
      const cache = m.initCache(B);
      const ids = tf.zeros([B, L], 'int32');
      tf.dispose([ids, m.step(ids, cache)]);
      const n = cache.bytes();
      cache.dispose();
      m.dispose();
      return n;
    };
    const kv = B * H * L * Dh;
    expect(bytes({ headLayout: { kind: 'svformer' }, kvCache: 'svformer' })).toBe((layers * kv + kv + layers * B * L) * 4);
    expect(bytes({ headLayout: { kind: 'resformer' } })).toBe(layers * (2 * kv + B * L) * 4); // ResFormer caches V'_n per layer
  });
});

describe('training', () => {
  it('a tiny learnable ResFormer LM learns (loss falls) without leaking; λ and layer 0\'s W_V get gradients from later layers', async () => {
    const m = buildModel(registry(), { vocab: 8, dModel: 16, heads: 4, layers: 2, headLayout: { kind: 'resformer', learnable: true }, seed: 2 }) as CausalLM;
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
    const lambda2 = () => (m.namedParameters().find(([n]) => n === 'blocks.1.mixer.heads.lambda2')![1] as tf.Variable).dataSync()[0];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => m.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 30);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.6);
    expect(lambda2()).not.toBeCloseTo(0.5, 4); // λ2 trained
    opt.dispose();
    m.dispose();
  });

  it('SVFormer: layer 1\'s loss reaches layer 0\'s value projection (V_1 is differentiable through the scratch)', () => {
    const m = lm({ layers: 2, headLayout: { kind: 'svformer' } });
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    const wv = m.namedParameters().find(([n]) => n === 'blocks.0.mixer.heads.wv.weight')![1] as tf.Variable;
    // Freeze layer 0's own path: only layer 1 (and the final projection) read V_1 here.
    const { grads, value } = tf.variableGrads(() => tf.sum(m.forward(ids, { training: true })) as tf.Scalar, [wv]);
    expect(tf.max(tf.abs(grads[wv.name])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([ids, value, ...Object.values(grads)]);
    m.dispose();
  });
});

describe('errors', () => {
  it('a value-residual layer without a value-residual layer 0 fails at build time, naming the path and the fix', () => {
    expect(() => lm({ layout: [{ mixer: { kind: 'attention', headLayout: { kind: 'mha' } } }, null, null], headLayout: { kind: 'resformer' } })).toThrow(ConfigError);
    expect(() => lm({ layout: [{ mixer: { kind: 'attention', headLayout: { kind: 'mha' } } }, null, null], headLayout: { kind: 'resformer' } })).toThrow(/layer 0 does not use a value-residual head layout.*layer 0 headLayout \{ "kind": "resformer" \}/);
  });

  it('kvCache "svformer" in a ResFormer layer fails at build time', () => {
    expect(() => lm({ headLayout: { kind: 'resformer' }, kvCache: 'svformer' })).toThrow(/kvCache "svformer" stores no values for layer 1.*Use headLayout \{ "kind": "svformer" \} in this layer, or kvCache "full"/);
  });
});

headLayoutConformance('resformer (layer 0)', () => registry().create('heads', { kind: 'resformer' }, { dims: { dModel: 16, heads: 4, headDim: 4 } }), { dModel: 16 });
headLayoutConformance('svformer (layer 0)', () => registry().create('heads', { kind: 'svformer' }, { dims: { dModel: 16, heads: 4, headDim: 4 } }), { dModel: 16 });
