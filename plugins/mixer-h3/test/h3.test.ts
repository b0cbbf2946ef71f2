import { createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import h3, { VERSION, type H3 } from '../src/index.js';

const registry = createRegistry().use(standard).use(h3);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'h3', ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as H3;
const arr = (t: tf.Tensor) => Float64Array.from(t.dataSync());

/** The H3 layer (Alg. 1, head_dim 1) written as plain loops over one [L, H] sequence per batch row. */
function naiveH3(m: H3, u: Float32Array, B: number, L: number): Float64Array {
  const H = m.dModel;
  const N = m.dState;
  const N2 = N / 2;
  const lin = (l: { weight: tf.Tensor; bias?: tf.Tensor }, x: Float64Array, row: number): number[] => {
    const w = arr(l.weight);
    const b = arr(l.bias!);
    return Array.from({ length: H }, (_, o) => {
      let s = b[o];
      for (let i = 0; i < H; i++) s += x[row * H + i] * w[i * H + o];
      return s;
    });
  };
  const [sc, sd] = [arr(m.shift_C), arr(m.shift_D)];
  const [logDt, C, logAre, aIm, D] = [arr(m.ssm.log_dt), arr(m.ssm.C), arr(m.ssm.log_A_real), arr(m.ssm.A_imag), arr(m.ssm.D)];
  const out = new Float64Array(B * L * H);
  const U = Float64Array.from(u);
  for (let b = 0; b < B; b++) {
    const q: number[][] = [], k: number[][] = [], v: number[][] = [];
    for (let t = 0; t < L; t++) {
      q.push(lin(m.q_proj, U, b * L + t));
      k.push(lin(m.k_proj, U, b * L + t));
      v.push(lin(m.v_proj, U, b * L + t));
    }
    const y = new Float64Array(L * H);
    for (let h = 0; h < H; h++) {
      // diagonal SSM constants: Ā = exp(ΔA), C̃ = C (Ā − 1)/A, complex arithmetic by hand
      const dt = Math.exp(logDt[h]);
      const modes = Array.from({ length: N2 }, (_, n) => {
        const ar = -Math.exp(logAre[h * N2 + n]);
        const ai = aIm[h * N2 + n];
        const e = Math.exp(dt * ar);
        const [Ar, Ai] = [e * Math.cos(dt * ai), e * Math.sin(dt * ai)];
        const den = ar * ar + ai * ai;
        const [Br, Bi] = [((Ar - 1) * ar + Ai * ai) / den, (Ai * ar - (Ar - 1) * ai) / den];
        const [cr, ci] = [C[(h * N2 + n) * 2], C[(h * N2 + n) * 2 + 1]];
        return { Ar, Ai, Cr: cr * Br - ci * Bi, Ci: cr * Bi + ci * Br, xr: 0, xi: 0 };
      });
      for (let t = 0; t < L; t++) {
        let ks = sd[h] * k[t][h]; // shift SSM: FIR over the last N k's + D_k k
        for (let i = 0; i < N && i <= t; i++) ks += sc[h * N + i] * k[t - i][h];
        const kv = ks * v[t][h];
        let acc = D[h] * kv;
        for (const md of modes) {
          [md.xr, md.xi] = [md.Ar * md.xr - md.Ai * md.xi + kv, md.Ar * md.xi + md.Ai * md.xr];
          acc += 2 * (md.Cr * md.xr - md.Ci * md.xi);
        }
        y[t * H + h] = q[t][h] * acc;
      }
    }
    for (let t = 0; t < L; t++) lin(m.output_linear, y, t).forEach((val, o) => (out[(b * L + t) * H + o] = val));
  }
  return out;
}

mixerConformance('h3', () => make(8, { d_state: 4 }), { causal: true, decode: true }, { dModel: 8, L: 9 });

describe('h3 properties, errors', () => {
  beforeAll(() => useBackend('cpu'));

  it('forward == the layer written as plain loops (shift FIR, complex diagonal recurrence, gating)', () => {
    const m = make(5, { d_state: 6, dt_min: 0.05, dt_max: 0.5 }, 4);
    const [B, L] = [2, 11];
    const us = new Rng(3).normalArray(B * L * 5);
    const u = tf.tensor(us, [B, L, 5]);
    const ctx = makeForwardContext(B, L);
    const y = m.forward(u, ctx);
    expectTensorsClose(y, naiveH3(m, us, B, L), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([u, y, ctx.positions]);
    m.dispose();
  });

  it('chunked state passing == a single pass (second half run from the state carried out of the first)', () => {
    const m = make(6, { d_state: 8 }, 7);
    const [B, L, cut] = [2, 12, 5];
    const u = new Rng(5).normalTensor([B, L, 6]);
    const ctx = makeForwardContext(B, L);
    const full = m.forward(u, ctx);
    const s0 = m.initState(B);
    const [a, s1] = m.step(tf.slice(u, [0, 0, 0], [B, cut, 6]), s0, ctx as never);
    const [b, s2] = m.step(tf.slice(u, [0, cut, 0], [B, L - cut, 6]), s1, ctx as never);
    expectTensorsClose(tf.concat([a, b], 1), full, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([u, full, a, b, ctx.positions]);
    s2.dispose();
    m.dispose();
  });

  it('config errors name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'h3', d_state: 1 }, 'mixer')).toThrow(/mixer\.d_state: d_state must be >= 2.*got 1/s);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 'h3', d_state: 5 } })).toThrow(/d_state must be even.*got 5; use 6 or 4/);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 'h3', dt_min: 0.2, dt_max: 0.1 } })).toThrow(/dt_min \(0\.2\) must be smaller than dt_max \(0\.1\)/);
    let err: unknown;
    try {
      registry.check('mixer', registry.validate('mixer', { kind: 'h3' }, 'm'), { path: 'layers[2].mixer', causal: false });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/layers\[2\]\.mixer: mixer "h3" is a causal SSM layer.*Use it in a causal-lm model/);
  });

  it('exports the package.json version and declares its capabilities', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(registry.capabilities('mixer', registry.validate('mixer', 'h3'))).toEqual({ causal: true, bidirectional: false, decode: true, segments: false, padding: false });
  });
});
