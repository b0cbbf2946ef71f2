import { createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import hyena, { VERSION, type Hyena } from '../src/index.js';

const registry = createRegistry().use(standard).use(hyena);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'hyena', l_max: 16, filter_order: 8, ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as Hyena;
const arr = (t: tf.Tensor) => Float64Array.from(t.dataSync());

/** The operator (Alg. 1–3) as plain loops, given its implicit filters h [L, (N−1) d]. */
function naiveHyena(m: Hyena, h: Float64Array, u: Float64Array, B: number, L: number): Float64Array {
  const d = m.dModel;
  const N = m.opts.order;
  const I = d * (N + 1);
  const [inW, inB, sw, sb, fb, oW, oB] = [arr(m.in_proj.weight), arr(m.in_proj.bias!), arr(m.short_filter_weight), arr(m.short_filter_bias), arr(m.filter_fn.bias), arr(m.out_proj.weight), arr(m.out_proj.bias!)];
  const out = new Float64Array(B * L * d);
  for (let b = 0; b < B; b++) {
    const p = Array.from({ length: L }, (_, t) => Array.from({ length: I }, (_, o) => {
      let s = inB[o];
      for (let i = 0; i < d; i++) s += u[(b * L + t) * d + i] * inW[i * I + o];
      return s;
    }));
    const uc = Array.from({ length: L }, (_, t) => Array.from({ length: I }, (_, c) => {
      let s = sb[c];
      for (let j = 0; j < 3; j++) if (t - 2 + j >= 0) s += sw[j * I + c] * p[t - 2 + j][c];
      return s;
    }));
    let v = uc.map((row) => row.slice(N * d, (N + 1) * d));
    for (let o = 0; o < N - 1; o++) {
      const xi = N - 1 - o;
      const vx = v.map((row, t) => row.map((val, c) => val * uc[t][xi * d + c]));
      v = vx.map((row, t) => row.map((val, c) => {
        let s = fb[o * d + c] * val; // bias skip
        for (let s2 = 0; s2 <= t; s2++) s += h[(t - s2) * (N - 1) * d + o * d + c] * vx[s2][c]; // direct causal conv
        return s;
      }));
    }
    for (let t = 0; t < L; t++)
      for (let o = 0; o < d; o++) {
        let s = oB[o];
        for (let c = 0; c < d; c++) s += v[t][c] * uc[t][c] * oW[c * d + o];
        out[(b * L + t) * d + o] = s;
      }
  }
  return out;
}

mixerConformance('hyena', () => make(8), { causal: true, decode: true }, { dModel: 8, L: 9 });

describe('hyena properties, errors', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([2, 3])('order %i: forward == the operator as loops with a direct causal convolution', (order) => {
    const m = make(4, { order }, 5);
    const [B, L] = [2, 9];
    const us = new Rng(3).normalArray(B * L * 4);
    const u = tf.tensor(us, [B, L, 4]);
    const h = m.filter_fn.filter(L);
    expect(h.shape).toEqual([L, 4 * (order - 1)]);
    const ctx = makeForwardContext(B, L);
    const y = m.forward(u, ctx);
    expectTensorsClose(y, naiveHyena(m, arr(h), Float64Array.from(us), B, L), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([u, h, y, ctx.positions]);
    m.dispose();
  });

  it('filters decay: the window hits `target` at fast_decay_pct·l_max (fastest channel), |h| is bounded by the window', () => {
    const m = make(6, { l_max: 11, fast_decay_pct: 0.3, slow_decay_pct: 1.5, target: 0.01 }, 2);
    const L = 11;
    const C = 6;
    const winT = m.filter_fn.window(L);
    const win = arr(winT);
    winT.dispose(); // t_l = l / 10
    expect(win[3 * C + (C - 1)]).toBeCloseTo(0.01, 5); // fastest channel at t = 0.3
    expect(win[10 * C]).toBeCloseTo(Math.pow(0.01, 1 / 1.5), 5); // slowest channel at t = 1
    for (let l = 1; l < L; l++) for (let c = 0; c < C; c++) expect(win[l * C + c]).toBeLessThan(win[(l - 1) * C + c]);
    // sin ∈ [−1, 1] before the last (bias-free) layer, so |h_l,c| ≤ window_l,c · Σ_f |W_f,c|.
    const last = m.filter_fn.layers[m.filter_fn.layers.length - 1];
    const W = arr(last.weight);
    const F = W.length / C;
    const hT = m.filter_fn.filter(L);
    const h = arr(hT);
    hT.dispose();
    for (let l = 0; l < L; l++)
      for (let c = 0; c < C; c++) {
        let bound = 0;
        for (let f = 0; f < F; f++) bound += Math.abs(W[f * C + c]);
        expect(Math.abs(h[l * C + c])).toBeLessThanOrEqual(win[l * C + c] * bound + 1e-6);
      }
    m.dispose();
  });

  it('refuses sequences longer than l_max, naming the option', () => {
    const m = make(4, { l_max: 4 });
    const u = tf.zeros([1, 5, 4]);
    const ctx = makeForwardContext(1, 5);
    expect(() => m.forward(u, ctx)).toThrow(/sequence length 5 exceeds l_max \(4\).*raise the option l_max to at least 5/);
    tf.dispose([u, ctx.positions]);
    m.dispose();
  });

  it('config errors name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'hyena', order: 1 }, 'mixer')).toThrow(/mixer\.order: order must be >= 2.*got 1/s);
    expect(() => registry.validate('mixer', { kind: 'hyena', emb_dim: 1 }, 'mixer')).toThrow(/mixer\.emb_dim: emb_dim must be >= 3.*got 1/s);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 'hyena', emb_dim: 4 } })).toThrow(/emb_dim must be odd.*got 4; use 5 or 3/);
    let err: unknown;
    try {
      registry.check('mixer', registry.validate('mixer', { kind: 'hyena' }, 'm'), { path: 'layers[0].mixer', causal: false });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/layers\[0\]\.mixer: mixer "hyena" uses causal filters.*Use it in a causal-lm model/);
  });

  it('exports the package.json version and declares its capabilities', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(registry.capabilities('mixer', registry.validate('mixer', 'hyena'))).toEqual({ causal: true, bidirectional: false, decode: true, segments: false, padding: false });
  });
});
