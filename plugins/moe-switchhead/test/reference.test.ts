/**
 * SwitchHead against references written here from the paper's equations (§3):
 *  - plain loops: σ selection scores, top-k per head, V_h = Σ_{e∈top-k} s^S_h,e x W^V_h,e,
 *    causal softmax attention, y = Σ_h Σ_{e∈top-k} s^D_h,e (A_h V_h) W^O_h,e;
 *  - k = E with constant gates (zero selection weights: σ(0) = ½ for every expert) equals the
 *    dense sum of all experts' projections, ½ Σ_e;
 *  - expert-selection counts on hand-made selection logits.
 */
import { ConfigError, createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, headLayoutConformance, makeForwardContext } from '@weft/core/testing';
import { buildModel, DenseAttention, standard, type CausalLM } from '@weft/nn';
import switchhead, { SwitchHeadLayout } from '../src/index.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function make(options: Record<string, unknown>, dims: { dModel: number; heads: number; headDim: number }, seed = 5): SwitchHeadLayout {
  return createRegistry().use(switchhead).create('heads', { kind: 'switchhead', ...options }, { dims: { ...dims, layers: 1 }, rng: new Rng(seed) }) as SwitchHeadLayout;
}

/** x @ W[:, cols] for one token: x [D], W [D, C] row-major. */
function dot(x: ArrayLike<number>, w: ArrayLike<number>, D: number, C: number, col: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += x[d] * w[d * C + col];
  return s;
}

/** Gates g[h][e] of one token: σ scores kept on the top-k (ties: lower index). */
function naiveGates(x: ArrayLike<number>, sel: ArrayLike<number>, D: number, H: number, E: number, k: number): number[][] {
  return Array.from({ length: H }, (_, h) => {
    const s = Array.from({ length: E }, (_, e) => sigmoid(dot(x, sel, D, H * E, h * E + e)));
    const top = s.map((v, e) => [v, e]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, e]) => e);
    return s.map((v, e) => (top.includes(e) ? v : 0));
  });
}

/** The whole SwitchHead attention layer by loops (causal). Returns y [B·L·D]. */
function naiveSwitchHead(xAll: Float32Array, m: SwitchHeadLayout, B: number, L: number): Float64Array {
  const [D, H, E, Dh, k] = [m.dModel, m.heads, m.experts, m.headDim, m.topK];
  const [wq, wk, wv, wo, selV, selO] = [m.wq, m.wk, m.wv, m.wo, m.selV, m.selO].map((p) => p.dataSync() as Float32Array);
  const y = new Float64Array(B * L * D);
  for (let b = 0; b < B; b++) {
    const xs = Array.from({ length: L }, (_, t) => xAll.subarray((b * L + t) * D, (b * L + t + 1) * D));
    const q = xs.map((x) => Array.from({ length: H * Dh }, (_, c) => dot(x, wq, D, H * Dh, c)));
    const kk = xs.map((x) => Array.from({ length: H * Dh }, (_, c) => dot(x, wk, D, H * Dh, c)));
    // V_h(t) = Σ_e g^S_h,e(x_t) · x_t W^V_h,e  — W^V column (h, e, d)
    const v = xs.map((x) => {
      const g = naiveGates(x, selV, D, H, E, k);
      return Array.from({ length: H * Dh }, (_, c) => {
        const [h, d] = [Math.floor(c / Dh), c % Dh];
        let s = 0;
        for (let e = 0; e < E; e++) if (g[h][e] !== 0) s += g[h][e] * dot(x, wv, D, H * E * Dh, (h * E + e) * Dh + d);
        return s;
      });
    });
    for (let t = 0; t < L; t++) {
      const gO = naiveGates(xs[t], selO, D, H, E, k);
      for (let h = 0; h < H; h++) {
        const logits = Array.from({ length: t + 1 }, (_, j) => {
          let s = 0;
          for (let d = 0; d < Dh; d++) s += q[t][h * Dh + d] * kk[j][h * Dh + d];
          return s / Math.sqrt(Dh);
        });
        const mx = Math.max(...logits);
        const p = logits.map((s) => Math.exp(s - mx));
        const z = p.reduce((a, c) => a + c, 0);
        const o = Array.from({ length: Dh }, (_, d) => p.reduce((a, pj, j) => a + (pj / z) * v[j][h * Dh + d], 0));
        // y_t += Σ_e g^D_h,e(x_t) · o_h W^O_h,e  — W^O row (h, e, d)
        for (let e = 0; e < E; e++) {
          if (gO[h][e] === 0) continue;
          for (let c = 0; c < D; c++) {
            let s = 0;
            for (let d = 0; d < Dh; d++) s += o[d] * wo[((h * E + e) * Dh + d) * D + c];
            y[(b * L + t) * D + c] += gO[h][e] * s;
          }
        }
      }
    }
  }
  return y;
}

function attend(m: SwitchHeadLayout, x: tf.Tensor): tf.Tensor {
  const [B, L] = x.shape;
  const ctx = makeForwardContext(B, L);
  const y = tf.tidy(() => {
    const { q, k, v } = m.project(x, ctx);
    const o = new DenseAttention().attend(q, k, v, { causal: true, scale: 1 / Math.sqrt(m.headDim), queryOffset: 0, training: false, rng: new Rng(0), layerIndex: 0 });
    return m.output(o, ctx);
  });
  ctx.positions.dispose();
  return y;
}

describeWithBackends('moe-switchhead reference', () => {
  const B = 2, L = 5, dims = { dModel: 8, heads: 2, headDim: 4 };

  it.each([
    ['E = 4, k = 2', { experts: 4, topK: 2 }],
    ['E = 3, k = 1', { experts: 3, topK: 1 }],
    ['E = 2, k = 2', { experts: 2, topK: 2 }],
  ])('%s: project + dense attention + output equal the paper-formula loops', (_name, options) => {
    const m = make(options, dims);
    // Sharper selection and attention than the init, so a wrong expert or head would show.
    tf.tidy(() => [m.selV, m.selO, m.wq, m.wk].forEach((p) => p.assign(tf.mul(p, 40))));
    tf.tidy(() => m.wo.assign(tf.mul(m.wo, 20)));
    const x = new Rng(6).normalTensor([B, L, dims.dModel]);
    const y = attend(m, x);
    expectTensorsClose(y, naiveSwitchHead(x.dataSync() as Float32Array, m, B, L), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y]);
    m.dispose();
  });

  it('k = E with constant gates equals the dense sum of every expert\'s projection', () => {
    const [D, H, Dh, E] = [8, 2, 4, 3];
    const m = make({ experts: E, topK: E }, dims);
    tf.tidy(() => [m.selV, m.selO].forEach((p) => p.assign(tf.zerosLike(p)))); // every gate σ(0) = ½
    const x = new Rng(7).normalTensor([1, 3, D]);
    const ctx = makeForwardContext(1, 3);
    const { v } = m.project(x, ctx);
    // Dense: V_h = ½ Σ_e x W^V_h,e, with W^V_h,e the [D, Dh] block at columns (h·E + e)·Dh.
    const wv = m.wv.arraySync() as number[][];
    const xs = x.arraySync() as number[][][];
    const dense = Array.from({ length: H }, (_, h) => xs[0].map((xt) => Array.from({ length: Dh }, (_, d) => {
      let s = 0;
      for (let e = 0; e < E; e++) for (let i = 0; i < D; i++) s += 0.5 * xt[i] * wv[i][(h * E + e) * Dh + d];
      return s;
    })));
    expectTensorsClose(v, dense.flat(2), { atol: 1e-6, rtol: 1e-5 });
    // Output: y = ½ Σ_h Σ_e o_h W^O_h,e for any o.
    const o = new Rng(8).normalTensor([1, H, 3, Dh]);
    const y = m.output(o, ctx);
    const wo = m.wo.arraySync() as number[][];
    const os = o.arraySync() as number[][][][];
    const denseY = Array.from({ length: 3 }, (_, t) => Array.from({ length: D }, (_, c) => {
      let s = 0;
      for (let h = 0; h < H; h++) for (let e = 0; e < E; e++) for (let d = 0; d < Dh; d++) s += 0.5 * os[0][h][t][d] * wo[(h * E + e) * Dh + d][c];
      return s;
    }));
    expectTensorsClose(y, denseY.flat(), { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([x, v, o, y, ctx.positions]);
    m.dispose();
  });

  it('selects the top-k experts per head from hand-made selection logits (source side for V, destination side for O)', () => {
    // x = identity rows: token t's selection logits are row t of the selection weights.
    const m = make({ experts: 3, topK: 2 }, { dModel: 4, heads: 2, headDim: 2 });
    // Columns (h, e): head 0 experts 0-2, head 1 experts 0-2.
    const logits = [
      [3, 2, 1, 0, 1, 2],
      [1, 2, 3, 5, 4, 3],
      [2, 3, 1, 1, 1, 0],
      [0, 1, 2, 0, 2, 1],
    ];
    tf.tidy(() => {
      m.selV.assign(tf.tensor2d(logits));
      m.selO.assign(tf.tensor2d(logits.map((r) => r.map((v) => -v)))); // destination side prefers the opposite
    });
    const x = tf.eye(4).reshape([1, 4, 4]);
    const chosen = (side: 'value' | 'output') => {
      const { scores, gates } = m.selection(x, side);
      expect(scores.shape).toEqual([1, 4, 2, 3]);
      const g = (gates.arraySync() as number[][][][])[0];
      const s = (scores.arraySync() as number[][][][])[0];
      // Gates are the sigmoid scores on the chosen experts, 0 elsewhere.
      g.forEach((tok, t) => tok.forEach((head, h) => head.forEach((v, e) => expect(v === 0 || Math.abs(v - s[t][h][e]) < 1e-7).toBe(true))));
      tf.dispose([scores, gates]);
      return g.map((tok) => tok.map((head) => head.flatMap((v, e) => (v > 0 ? [e] : []))));
    };
    expect(chosen('value')).toEqual([
      [[0, 1], [1, 2]],
      [[1, 2], [0, 1]],
      [[0, 1], [0, 1]], // head 1: ties 1, 1 -> lower indices
      [[1, 2], [1, 2]],
    ]);
    expect(chosen('output')).toEqual([
      [[1, 2], [0, 1]],
      [[0, 1], [1, 2]],
      [[0, 2], [0, 2]], // head 1: -1, -1, 0 -> expert 2, then the tie goes to the lower index
      [[0, 1], [0, 2]],
    ]);
    // Counts per (head, expert) over the 4 tokens, value side.
    const counts = [[0, 0, 0], [0, 0, 0]];
    chosen('value').forEach((tok) => tok.forEach((es, h) => es.forEach((e) => counts[h][e]++)));
    expect(counts).toEqual([[2, 4, 2], [2, 4, 2]]);
    x.dispose();
    m.dispose();
  });
});

describe('moe-switchhead gradients', () => {
  it('match finite differences through the σ gates (the top-k choice itself is discrete)', () => {
    const m = make({ experts: 3, topK: 2 }, { dModel: 4, heads: 2, headDim: 2 });
    tf.tidy(() => [m.selV, m.selO].forEach((p) => p.assign(tf.mul(p, 40))));
    const x = new Rng(9).normalTensor([1, 3, 4]);
    const r = new Rng(10).normalTensor([1, 3, 4]);
    const ctx = makeForwardContext(1, 3);
    const f = (xi: tf.Tensor) => {
      const { v } = m.project(xi, ctx);
      return tf.sum(tf.mul(m.output(v, ctx), r)) as tf.Scalar; // v as the attention output: exercises both σ-MoEs
    };
    const result = gradCheck(f, [x], { eps: 1e-3, atol: 2e-3, rtol: 2e-2 });
    expect(result.maxAbsError).toBeLessThan(2e-3);
    tf.dispose([x, r, ctx.positions]);
    m.dispose();
  });
});

headLayoutConformance('switchhead', () => make({ experts: 4, topK: 2 }, { dModel: 8, heads: 2, headDim: 4 }), { dModel: 8 });

describe('moe-switchhead in a model', () => {
  const registry = createRegistry().use(standard, switchhead);

  it('cached decoding (step) equals the full forward', () => {
    const model = buildModel(registry, { vocab: 10, dModel: 8, layers: 2, heads: 2, headDim: 6, headLayout: { kind: 'switchhead', experts: 3, topK: 2 }, seed: 4 }) as CausalLM;
    tf.tidy(() => model.namedParameters().forEach(([name, p]) => /sel[VO]$/.test(name) && p.assign(tf.mul(p, 50))));
    const ids = tf.tensor2d([[1, 5, 2, 9, 3, 7]], [1, 6], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(1);
    const first = model.step(tf.slice(ids, [0, 0], [1, 2]), cache); // a 2-token prefix, then 1 at a time
    const rest = [2, 3, 4, 5].map((t) => model.step(tf.slice(ids, [0, t], [1, 1]), cache));
    const stepped = tf.concat([first, ...rest], 1);
    expectTensorsClose(stepped, full, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([ids, full, first, stepped, ...rest]);
    cache.dispose();
    model.dispose();
  });

  it('config errors name the field, the value and the fix', () => {
    const v = (o: Record<string, unknown>) => () => registry.validate('heads', { kind: 'switchhead', ...o }, 'headLayout');
    expect(v({ experts: 2, topK: 3 })).toThrow(ConfigError);
    expect(v({ experts: 2, topK: 3 })).toThrow(/headLayout\.topK: topK \(3\) cannot exceed experts \(2\).*Lower topK or raise experts; got 3/);
    expect(v({ experts: 0 })).toThrow(/headLayout\.experts: experts must be ≥ 1/);
    expect(v({ topK: 0.5 })).toThrow(/headLayout\.topK: topK must be an integer/);
    expect(v({ expert: 2 })).toThrow(/has no option "expert".*Did you mean "experts"/);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, heads: 2, layout: [{ headLayout: { kind: 'switchhead', experts: 1, topK: 2 } }] })).toThrow(
      /topK \(2\) cannot exceed experts \(1\)/,
    );
    expect(registry.validate('heads', { kind: 'switchhead' })).toMatchObject({ experts: 4, topK: 2 });
  });
});
