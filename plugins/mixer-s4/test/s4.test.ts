import { createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import s4, { causalLongConv, s4dKernel, VERSION, type S4Mixer } from '../src/index.js';

const registry = createRegistry().use(standard).use(s4);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 's4', ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as S4Mixer;

/** Direct causal convolution loop: y[b, t, h] = Σ_{s ≤ t} K[h, t − s] u[b, s, h]. */
function loopConv(u: Float32Array, K: Float32Array, B: number, L: number, H: number, Lk: number): Float64Array {
  const y = new Float64Array(B * L * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < L; t++)
      for (let h = 0; h < H; h++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) if (t - s < Lk) acc += K[h * Lk + t - s] * u[(b * L + s) * H + h];
        y[(b * L + t) * H + h] = acc;
      }
  return y;
}

/** K_l = 2 Re(C̄ Ā^l B̄) with explicit complex arithmetic: Ā = exp(ΔA), B̄ = (Ā − 1)/A · 1, powers by repeated multiplication. */
function naiveKernel(logDt: Float32Array, C: Float32Array, logAre: Float32Array, aIm: Float32Array, H: number, N2: number, L: number): Float64Array {
  const K = new Float64Array(H * L);
  for (let h = 0; h < H; h++) {
    const dt = Math.exp(logDt[h]);
    for (let n = 0; n < N2; n++) {
      const ar = -Math.exp(logAre[h * N2 + n]);
      const ai = aIm[h * N2 + n];
      const ea = Math.exp(dt * ar);
      const [Ar, Ai] = [ea * Math.cos(dt * ai), ea * Math.sin(dt * ai)]; // Ā
      const den = ar * ar + ai * ai;
      const [Br, Bi] = [((Ar - 1) * ar + Ai * ai) / den, (Ai * ar - (Ar - 1) * ai) / den]; // B̄ = (Ā − 1)/A
      const [cr, ci] = [C[(h * N2 + n) * 2], C[(h * N2 + n) * 2 + 1]];
      let [pr, pi] = [Br, Bi]; // Ā^l B̄, starting at l = 0
      for (let l = 0; l < L; l++) {
        K[h * L + l] += 2 * (cr * pr - ci * pi);
        [pr, pi] = [Ar * pr - Ai * pi, Ar * pi + Ai * pr];
      }
    }
  }
  return K;
}

describeWithBackends('s4', () => {
  mixerConformance('s4', () => make(8, { d_state: 6 }), { causal: true, decode: true }, { dModel: 8, L: 9 });

  it('causal long conv (Toeplitz matmul) == a direct convolution loop, for kernels shorter, equal and longer than L', () => {
    const [B, L, H] = [2, 11, 3];
    const rng = new Rng(4);
    const us = rng.normalArray(B * L * H);
    for (const Lk of [4, L, L + 5]) {
      const ks = rng.normalArray(H * Lk);
      const u = tf.tensor(us, [B, L, H]);
      const K = tf.tensor(ks, [H, Lk]);
      const y = causalLongConv(u, K);
      expectTensorsClose(y, loopConv(us, ks, B, L, H, Lk), { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([u, K, y]);
    }
  });

  it('the closed-form Vandermonde kernel == C̄ Ā^l B̄ by repeated complex multiplication', () => {
    const [H, N2, L] = [3, 5, 17];
    const rng = new Rng(6);
    const arrs = { logDt: rng.uniformArray(H, Math.log(1e-3), Math.log(0.5)), C: rng.normalArray(H * N2 * 2), logAre: rng.uniformArray(H * N2, -2, 1), aIm: rng.uniformArray(H * N2, 0, 10) };
    const p = { log_dt: tf.tensor(arrs.logDt, [H]), C: tf.tensor(arrs.C, [H, N2, 2]), log_A_real: tf.tensor(arrs.logAre, [H, N2]), A_imag: tf.tensor(arrs.aIm, [H, N2]) };
    const K = s4dKernel(p, L);
    expectTensorsClose(K, naiveKernel(arrs.logDt, arrs.C, arrs.logAre, arrs.aIm, H, N2, L), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([K, ...Object.values(p)]);
  });
});

describe('modes, gradients, errors', () => {
  beforeAll(() => useBackend('cpu'));

  it('conv mode == recurrent mode, also when a chunk continues from a carried state', () => {
    const m = make(5, { d_state: 8 }, 3);
    const [B, L] = [2, 10];
    const x = new Rng(9).normalTensor([B, L, 5]);
    const ctx = makeForwardContext(B, L);
    const full = m.forward(x, ctx);
    let state = m.initState(B);
    const [a, s1] = m.step(tf.slice(x, [0, 0, 0], [B, 4, 5]), state, ctx as never);
    const [b, s2] = m.step(tf.slice(x, [0, 4, 0], [B, 6, 5]), s1, ctx as never);
    state = s2;
    const stepped = tf.concat([a, b], 1);
    expectTensorsClose(stepped, full, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, full, a, b, stepped, ctx.positions]);
    state.dispose();
    m.dispose();
  });

  it('kernel gradients (log_dt, C, log_A_real, A_imag) and the Toeplitz conv gradients (u, K) match finite differences', () => {
    const [H, N2, L] = [2, 3, 6];
    const rng = new Rng(12);
    const w = rng.normalTensor([H, L]);
    const ins = [rng.uniformTensor([H], -3, -1), rng.normalTensor([H, N2, 2]), rng.uniformTensor([H, N2], -1, 0), rng.uniformTensor([H, N2], 0, 3)];
    gradCheck((log_dt, C, log_A_real, A_imag) => tf.sum(tf.mul(s4dKernel({ log_dt, C, log_A_real, A_imag }, L), w)) as tf.Scalar, ins, { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    const u = rng.normalTensor([1, L, H]);
    const K = rng.normalTensor([H, L]);
    const wy = rng.normalTensor([1, L, H]);
    gradCheck((uu, KK) => tf.sum(tf.mul(causalLongConv(uu, KK), wy)) as tf.Scalar, [u, K], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([w, u, K, wy, ...ins]);
  });

  it('initialisation follows S4D-Lin: A = −1/2 + iπn, Δ in [dt_min, dt_max]', () => {
    const m = make(6, { d_state: 8, dt_min: 0.01, dt_max: 0.05 });
    expect(Array.from(m.kernel.log_A_real.dataSync()).every((v) => Math.abs(Math.exp(v) - 0.5) < 1e-6)).toBe(true);
    expect(Array.from(m.kernel.A_imag.dataSync().slice(0, 4))).toEqual([0, 1, 2, 3].map((n) => Math.fround(Math.PI * n)));
    const dts = Array.from(m.kernel.log_dt.dataSync()).map(Math.exp);
    expect(Math.min(...dts)).toBeGreaterThanOrEqual(0.01 - 1e-6);
    expect(Math.max(...dts)).toBeLessThanOrEqual(0.05 + 1e-6);
    expect(m.kernel.C.shape).toEqual([6, 4, 2]);
    m.dispose();
  });

  it('config errors name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 's4', d_state: 0 }, 'mixer')).toThrow(/mixer\.d_state: d_state must be >= 2.*got 0/s);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 's4', d_state: 7 } })).toThrow(/d_state must be even.*got 7; use 8 or 6/);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 's4', dt_min: 0.5, dt_max: 0.1 } })).toThrow(/dt_min \(0\.5\) must be smaller than dt_max \(0\.1\)/);
    const cfg = registry.validate('mixer', { kind: 's4' }, 'm');
    let err: unknown;
    try {
      registry.check('mixer', cfg, { path: 'layers[0].mixer', causal: false });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/layers\[0\]\.mixer: mixer "s4" is implemented as a causal convolution.*Use it in a causal-lm model/);
  });

  it('exports the package.json version and declares its capabilities', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(registry.capabilities('mixer', registry.validate('mixer', 's4'))).toEqual({ causal: true, bidirectional: false, decode: true, segments: false, padding: false });
  });
});
