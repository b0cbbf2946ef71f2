/** InAttention: reference, K/V from the initial states only, decoding, training, errors. */
import { ConfigError, createRegistry, Rng, tf, useBackend, type Batch, type ForwardContext, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { expectNoLeaks, expectTensorsClose, headLayoutConformance, makeForwardContext } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import inattention, { type InAttentionHeads } from '../src/index.js';

beforeAll(() => useBackend('cpu'));

const registry = () => createRegistry().use(standard, inattention);
const D = 16, H = 4, Dh = 4;
const lm = (extra: Record<string, unknown>) => buildModel(registry(), { vocab: 13, dModel: D, heads: H, layers: 3, seed: 5, headLayout: { kind: 'inattention' }, ...extra }) as CausalLM;
type InMixer = SequenceMixer & { heads: InAttentionHeads };

function twoHeads(): [InAttentionHeads, InAttentionHeads] {
  const reg = registry();
  const model = reg.createScope();
  const make = (layerIndex: number) =>
    reg.create('heads', { kind: 'inattention' }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 2 }, rng: new Rng(layerIndex + 1) }) as InAttentionHeads;
  return [make(0), make(1)];
}

/** [n, k] @ [k, m] in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) out[i * m + j] += a[i * k + t] * b[t * m + j];
  return out;
}

/** [B, H, L, Dh] -> [B, L, H·Dh] values, for comparing with x @ W. */
const merged = (t: Tensor) => tf.tidy(() => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [t.shape[0], t.shape[2]!, -1]));

describe('reference', () => {
  it('layer 1: softmax(x_1 W_q (x_0 W_k)ᵀ / √Dh) x_0 W_v W_o (naive loops)', () => {
    const reg = registry();
    const model = reg.createScope();
    const make = (layerIndex: number) =>
      reg.create('mixer', { kind: 'attention', headLayout: { kind: 'inattention' } }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 2 }, rng: new Rng(layerIndex + 1) }) as InMixer;
    const [m0, m1] = [make(0), make(1)];
    tf.tidy(() => [m1.heads.wk.weight, m1.heads.wq.weight].forEach((p) => p.assign(tf.mul(p, 10))));
    const B = 2, L = 5;
    const [x0, x1] = [new Rng(7).normalTensor([B, L, D]), new Rng(8).normalTensor([B, L, D])];
    const ctx = makeForwardContext(B, L);
    const y0 = m0.forward(x0, { ...ctx, layerIndex: 0 });
    const y1 = m1.forward(x1, { ...ctx, layerIndex: 1 });
    const w = (p: tf.Tensor) => p.dataSync();
    for (let b = 0; b < B; b++) {
      const row = (x: tf.Tensor) => x.dataSync().slice(b * L * D, (b + 1) * L * D);
      const q = matmul(row(x1), w(m1.heads.wq.weight), L, D, D);
      const k = matmul(row(x0), w(m1.heads.wk.weight), L, D, D);
      const v = matmul(row(x0), w(m1.heads.wv.weight), L, D, D);
      const o = new Float64Array(L * D);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++) {
          const s = Array.from({ length: i + 1 }, (_, j) => {
            let dot = 0;
            for (let d = 0; d < Dh; d++) dot += q[i * D + h * Dh + d] * k[j * D + h * Dh + d];
            return dot / Math.sqrt(Dh);
          });
          const m = Math.max(...s);
          const p = s.map((x) => Math.exp(x - m));
          const z = p.reduce((a2, b2) => a2 + b2, 0);
          for (let d = 0; d < Dh; d++) o[i * D + h * Dh + d] = p.reduce((acc, pj, j) => acc + (pj / z) * v[j * D + h * Dh + d], 0);
        }
      expectTensorsClose(row(y1), matmul(o, w(m1.heads.wo.weight), L, D, D), { atol: 1e-5, rtol: 1e-4 });
    }
    expect(ctx.scratch.size).toBe(0); // the last reader released x_0
    tf.dispose([x0, x1, y0, y1, ctx.positions]);
    m0.dispose();
    m1.dispose();
  });

  it('changing layer 1\'s input but not the initial states leaves its K/V unchanged (and changes Q)', () => {
    const [h0, h1] = twoHeads();
    const B = 2, L = 4;
    const [x0, x1, x1b] = [3, 4, 5].map((s) => new Rng(s).normalTensor([B, L, D]));
    const run = (x: Tensor) => {
      const ctx = makeForwardContext(B, L);
      tf.dispose(Object.values(h0.project(x0, ctx)));
      const out = h1.project(x, { ...ctx, layerIndex: 1 });
      ctx.positions.dispose();
      return out;
    };
    const [a, b] = [run(x1), run(x1b)];
    expectTensorsClose(a.k, b.k, { atol: 0, rtol: 0 });
    expectTensorsClose(a.v, b.v, { atol: 0, rtol: 0 });
    expect(tf.max(tf.abs(tf.sub(a.q, b.q))).dataSync()[0]).toBeGreaterThan(1e-3);
    // and they are x_0's projections
    expectTensorsClose(merged(a.k), tf.matMul(tf.reshape(x0, [B * L, D]), h1.wk.weight).reshape([B, L, D]), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x0, x1, x1b, ...Object.values(a), ...Object.values(b)]);
    h0.dispose();
    h1.dispose();
  });

  it.each([
    ['post-norm: the embeddings themselves', true],
    ['pre-norm: the normalised embeddings norm1_0(e)', false],
  ])('in a model, every layer\'s keys are projected from the embedding-layer states (%s)', (_n, postNorm) => {
    const m = lm({ postNorm });
    const seen: Array<{ e: Tensor; k: Tensor }> = [];
    for (let i = 0; i < 3; i++) {
      const heads = (m.blocks.at(i).mixer as InMixer).heads;
      const project = heads.project.bind(heads);
      heads.project = (x: Tensor, ctx: ForwardContext | StepContext) => {
        const out = project(x, ctx);
        seen.push({ e: tf.keep(tf.clone(ctx.embeddings!)), k: tf.keep(tf.clone(out.k)) });
        return out;
      };
    }
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    tf.dispose(m.forward(ids));
    const block0 = m.blocks.at(0);
    seen.forEach(({ e, k }, i) => {
      const x0 = postNorm ? e : block0.norm1.forward(e); // [1, L, D]
      const wk = ((m.blocks.at(i).mixer as InMixer).heads).wk.weight;
      expectTensorsClose(merged(k), tf.matMul(tf.reshape(x0, [6, D]), wk).reshape([1, 6, D]), { atol: 1e-5, rtol: 1e-5 });
    });
    tf.dispose([ids, ...seen.flatMap((s) => [s.e, s.k])]);
    m.dispose();
  });

  it('differs from vanilla attention with the same weights; layer 0 alone is vanilla attention', () => {
    const ids = tf.tensor2d([[1, 7, 3, 3, 12, 0]], [1, 6], 'int32');
    const base = lm({ headLayout: { kind: 'mha' } });
    const ina = lm({});
    expect(ina.namedParameters().map(([n]) => n)).toEqual(base.namedParameters().map(([n]) => n));
    const [a, b] = [ina.forward(ids), base.forward(ids)];
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-4);
    const one = [lm({ layers: 1 }), lm({ layers: 1, headLayout: { kind: 'mha' } })];
    const [c, d] = one.map((m) => m.forward(ids));
    expectTensorsClose(c, d, { atol: 0, rtol: 0 });
    tf.dispose([ids, a, b, c, d]);
    [base, ina, ...one].forEach((m) => m.dispose());
  });
});

describe('decoding', () => {
  it.each([
    ['pre-norm', {}],
    ['post-norm', { postNorm: true }],
    ['sinusoidal positions', { positional: { kind: 'sinusoidal' } }],
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
});

describe('training', () => {
  it('a tiny InAttention LM learns (loss falls) without leaking', async () => {
    const m = buildModel(registry(), { vocab: 8, dModel: 16, heads: 4, layers: 2, headLayout: { kind: 'inattention' }, seed: 2 }) as CausalLM;
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
  it('an InAttention layer when layer 0 is not InAttention fails at build time with the path and the fix', () => {
    const bad = () => lm({ layout: [{ mixer: { kind: 'attention', headLayout: { kind: 'mha' } } }, null, null] });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/layer 0 does not use headLayout "inattention".*Give layer 0 headLayout \{ "kind": "inattention" \}/);
  });
});

headLayoutConformance('inattention (layer 0)', () => registry().create('heads', { kind: 'inattention' }, { dims: { dModel: 16, heads: 4, headDim: 4, layers: 1 } }), { dModel: 16 });
