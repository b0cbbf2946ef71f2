/**
 * MQA / GQA against independent references:
 *  - plain loops (projections, per-head softmax attention with query head h reading kv head
 *    floor(h / (H / Hkv)), output projection), written here from the paper's equations;
 *  - multi-head attention whose key/value projections are tied across each group's heads
 *    (a whole @weft/nn model with kind "mha" loaded with the tied weights).
 */
import { ConfigError, createRegistry, Rng, tf, type SequenceMixer, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, DenseAttention, standard, type CausalLM } from '@weft/nn';
import mqa, { GroupedQueryHeads } from '../src/index.js';

/** [n, k] @ [k, m] in float64 loops. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * m + j];
    out[i * m + j] = s;
  }
  return out;
}

/**
 * The layer by hand: x [B, L, D] flat, weights [in, out] flat; causal softmax attention where
 * query head h uses key/value head floor(h / (H / Hkv)). Returns y [B, L, D] flat.
 */
function naiveGroupedQuery(x: Float32Array, w: Record<'wq' | 'wk' | 'wv' | 'wo', Float32Array>, B: number, L: number, D: number, H: number, Hkv: number, Dh: number): Float64Array {
  const q = matmul(x, w.wq, B * L, D, H * Dh); // [B·L, H·Dh]
  const k = matmul(x, w.wk, B * L, D, Hkv * Dh); // [B·L, Hkv·Dh]
  const v = matmul(x, w.wv, B * L, D, Hkv * Dh);
  const o = new Float64Array(B * L * H * Dh); // [B·L, H·Dh], heads concatenated
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    for (let i = 0; i < L; i++) {
      const logits: number[] = [];
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < Dh; d++) s += q[(b * L + i) * H * Dh + h * Dh + d] * k[(b * L + j) * Hkv * Dh + g * Dh + d];
        logits.push(s / Math.sqrt(Dh));
      }
      const max = Math.max(...logits);
      const p = logits.map((s) => Math.exp(s - max));
      const z = p.reduce((a, c) => a + c, 0);
      for (let d = 0; d < Dh; d++) {
        let acc = 0;
        for (let j = 0; j <= i; j++) acc += (p[j] / z) * v[(b * L + j) * Hkv * Dh + g * Dh + d];
        o[(b * L + i) * H * Dh + h * Dh + d] = acc;
      }
    }
  }
  return matmul(o, w.wo, B * L, H * Dh, D);
}

/** Tie a [D, Hkv·Dh] projection into a [D, H·Dh] one: head h's columns copy kv head floor(h / G). */
function tieAcrossGroups(w: Float32Array, D: number, H: number, Hkv: number, Dh: number): Float32Array {
  const G = H / Hkv;
  const out = new Float32Array(D * H * Dh);
  for (let r = 0; r < D; r++) for (let h = 0; h < H; h++) for (let d = 0; d < Dh; d++) {
    out[r * H * Dh + h * Dh + d] = w[r * Hkv * Dh + Math.floor(h / G) * Dh + d];
  }
  return out;
}

describeWithBackends('heads-mqa reference', () => {
  const B = 2, L = 6, D = 16, H = 4, Dh = 4;

  it.each([
    ['mqa', { kind: 'mqa' }, 1],
    ['gqa kvHeads=2', { kind: 'gqa', kvHeads: 2 }, 2],
    ['gqa kvHeads=4 (= MHA)', { kind: 'gqa', kvHeads: 4 }, 4],
  ])('%s: projections + dense attention + output equal the loops', (_name, config, Hkv) => {
    const registry = createRegistry().use(standard, mqa);
    const layout = registry.create('heads', config, { dims: { dModel: D, heads: H, headDim: Dh }, rng: new Rng(5) }) as GroupedQueryHeads;
    expect(layout.kvHeads).toBe(Hkv);
    // Sharper attention than the 0.02 init, so a wrong head grouping would show.
    tf.tidy(() => [layout.wq.weight, layout.wk.weight].forEach((p) => p.assign(tf.mul(p, 20))));
    const x = new Rng(6).normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const y = tf.tidy(() => {
      const { q, k, v } = layout.project(x, ctx);
      expect(q.shape).toEqual([B, H, L, Dh]);
      expect(k.shape).toEqual([B, Hkv, L, Dh]);
      expect(v.shape).toEqual([B, Hkv, L, Dh]);
      const o = new DenseAttention().attend(q, k, v, { causal: true, scale: 1 / Math.sqrt(Dh), queryOffset: 0, training: false, rng: new Rng(0), layerIndex: 0 });
      return layout.output(o, ctx);
    });
    const w = {
      wq: layout.wq.weight.dataSync() as Float32Array,
      wk: layout.wk.weight.dataSync() as Float32Array,
      wv: layout.wv.weight.dataSync() as Float32Array,
      wo: layout.wo.weight.dataSync() as Float32Array,
    };
    expectTensorsClose(y, naiveGroupedQuery(x.dataSync() as Float32Array, w, B, L, D, H, Hkv, Dh), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, ctx.positions]);
    layout.dispose();
  });

  it('with K/V weights tied across each group, multi-head attention gives the same model outputs', () => {
    const registry = createRegistry().use(standard, mqa);
    const base = { vocab: 12, dModel: D, layers: 2, heads: H, seed: 3 };
    const gqa = buildModel(registry, { ...base, headLayout: { kind: 'gqa', kvHeads: 2 } }) as CausalLM;
    const mha = buildModel(registry, base) as CausalLM;
    const ids = tf.tensor2d([[1, 5, 2, 9, 3, 3, 7], [0, 11, 4, 4, 8, 1, 2]], [2, 7], 'int32');
    // Sharper attention than the 0.02 init, so the test is sensitive to which head reads which.
    tf.tidy(() => gqa.namedParameters().forEach(([name, p]) => /\.w[qk]\.weight$/.test(name) && p.assign(tf.mul(p, 20))));
    const untied = mha.forward(ids);
    const state: Record<string, Tensor> = {};
    for (const [name, p] of gqa.namedParameters()) {
      state[name] = /\.w[kv]\.weight$/.test(name) ? tf.tensor(tieAcrossGroups(p.dataSync() as Float32Array, D, H, 2, Dh), [D, H * Dh]) : p;
    }
    mha.loadStateDict(state);
    const [a, b] = [gqa.forward(ids), mha.forward(ids)];
    expectTensorsClose(a, b, { atol: 1e-5, rtol: 1e-4 });
    // ...and untied (independently initialised) MHA weights do give different outputs.
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(untied, a))).dataSync()[0])).toBeGreaterThan(1e-3);
    tf.dispose([ids, a, b, untied, ...Object.entries(state).filter(([n]) => /\.w[kv]\.weight$/.test(n)).map(([, t]) => t)]);
    gqa.dispose();
    mha.dispose();
  });

  it('kvHeads = heads reproduces @weft/nn "mha" exactly (same seed, same parameter names)', () => {
    const registry = createRegistry().use(standard, mqa);
    const base = { vocab: 12, dModel: D, layers: 1, heads: H, seed: 9 };
    const gqa = buildModel(registry, { ...base, headLayout: { kind: 'gqa', kvHeads: H } }) as CausalLM;
    const mha = buildModel(registry, base) as CausalLM;
    expect(gqa.namedParameters().map(([n]) => n)).toEqual(mha.namedParameters().map(([n]) => n));
    const ids = tf.tensor2d([[3, 1, 4, 1, 5]], [1, 5], 'int32');
    const [a, b] = [gqa.forward(ids), mha.forward(ids)];
    expectTensorsClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([ids, a, b]);
    gqa.dispose();
    mha.dispose();
  });
});

describe('heads-mqa config errors', () => {
  const registry = createRegistry().use(standard, mqa);
  it('a kvHeads that does not divide heads names the field, the value and the fix', () => {
    let err: unknown;
    try {
      buildModel(registry, { vocab: 8, dModel: 12, layers: 1, heads: 6, headLayout: { kind: 'gqa', kvHeads: 4 } });
    } catch (e) {
      err = e;
    }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as ConfigError).path).toBe('layers[0].mixer.headLayout.kvHeads');
    expect((err as Error).message).toMatch(/kvHeads 4 does not divide heads 6/);
    expect((err as Error).message).toMatch(/Use one of 1, 2, 3, 6/);
  });
  it('gqa needs kvHeads; mqa takes no kvHeads', () => {
    expect(() => registry.validate('heads', { kind: 'gqa' }, 'headLayout')).toThrow(/kvHeads/);
    expect(() => registry.validate('heads', { kind: 'gqa', kvHeads: 0 }, 'headLayout')).toThrow(/kvHeads/);
    expect(() => registry.validate('heads', { kind: 'mqa', kvHeads: 2 }, 'headLayout')).toThrow(/has no option "kvHeads"/);
  });
});

// The slot's conformance suite runs on the whole attention sublayer built around the layout:
// shapes, no leaks, causality and step == forward (the KV cache holding Hkv heads).
for (const [name, headLayout] of [['mqa', { kind: 'mqa' }], ['gqa', { kind: 'gqa', kvHeads: 2 }]] as const) {
  mixerConformance(
    `attention sublayer with ${name} heads`,
    () => createRegistry().use(standard, mqa).create('mixer', { kind: 'attention', headLayout }, { dims: { dModel: 16, heads: 4, headDim: 4 }, rng: new Rng(1) }) as SequenceMixer,
    { causal: true, decode: true },
    { dModel: 16 },
  );
}
