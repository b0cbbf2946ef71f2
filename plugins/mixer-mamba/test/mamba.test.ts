import { createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import mamba, { causalConv1d, selectiveScan, VERSION, type Mamba } from '../src/index.js';

const registry = createRegistry().use(standard).use(mamba);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'mamba', ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as Mamba;

/** Eq. 2a/2b with mixed discretisation, as plain loops over [B, L, E] / [E, N] / [B, L, N] arrays. */
function naiveScan(u: Float32Array, delta: Float32Array, A: Float32Array, Bm: Float32Array, Cm: Float32Array, D: Float32Array, z: Float32Array, bias: Float32Array, B: number, L: number, E: number, N: number) {
  const y = new Float64Array(B * L * E);
  for (let b = 0; b < B; b++)
    for (let e = 0; e < E; e++) {
      const h = new Float64Array(N);
      for (let t = 0; t < L; t++) {
        const i = (b * L + t) * E + e;
        const dt = Math.log1p(Math.exp(delta[i] + bias[e])); // softplus
        let acc = 0;
        for (let n = 0; n < N; n++) {
          h[n] = Math.exp(dt * A[e * N + n]) * h[n] + dt * Bm[(b * L + t) * N + n] * u[i];
          acc += Cm[(b * L + t) * N + n] * h[n];
        }
        const zi = z[i];
        y[i] = (acc + D[e] * u[i]) * (zi / (1 + Math.exp(-zi)));
      }
    }
  return y;
}

describeWithBackends('mamba', () => {
  mixerConformance('mamba', () => make(8, { d_state: 4, expand: 2 }), { causal: true, decode: true }, { dModel: 8, L: 9 });

  it('the parallel selective scan == the recurrence written as plain loops (L not a power of 2, one or several chunks)', () => {
    const [B, L, E, N] = [2, 13, 3, 5];
    const rng = new Rng(21);
    const arrs = {
      u: rng.normalArray(B * L * E), delta: rng.uniformArray(B * L * E, 0, 0.5), A: rng.uniformArray(E * N, -1.5, -0.01),
      Bm: rng.normalArray(B * L * N), Cm: rng.normalArray(B * L * N), D: rng.normalArray(E), z: rng.normalArray(B * L * E), bias: rng.uniformArray(E, 0, 0.5),
    };
    const t = (a: Float32Array, s: number[]) => tf.tensor(a, s);
    const inputs = [t(arrs.u, [B, L, E]), t(arrs.delta, [B, L, E]), t(arrs.A, [E, N]), t(arrs.Bm, [B, L, N]), t(arrs.Cm, [B, L, N]), t(arrs.D, [E]), t(arrs.z, [B, L, E]), t(arrs.bias, [E])];
    const [u, delta, A, Bm, Cm, D, z, deltaBias] = inputs;
    const want = naiveScan(arrs.u, arrs.delta, arrs.A, arrs.Bm, arrs.Cm, arrs.D, arrs.z, arrs.bias, B, L, E, N);
    for (const chunk of [undefined, 4]) {
      // One chunk (the default length exceeds L) and four chunks of 4, 4, 4, 1 steps.
      const { y, last } = selectiveScan({ u, delta, A, B: Bm, C: Cm, D, z, deltaBias, deltaSoftplus: true, chunk });
      expectTensorsClose(y, want, { atol: 1e-5, rtol: 1e-4 });
      expect(last.shape).toEqual([B, E, N]);
      tf.dispose([y, last]);
    }
    tf.dispose(inputs);
  });

  it('causal depthwise conv1d == Conv1d(padding K-1)[:L] written as loops, and carries its state', () => {
    const [B, L, E, K] = [2, 6, 3, 4];
    const rng = new Rng(5);
    const xs = rng.normalArray(B * L * E);
    const ws = rng.normalArray(K * E);
    const bs = rng.normalArray(E);
    const ref = new Float64Array(B * L * E);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < L; t++)
        for (let e = 0; e < E; e++) {
          let s = bs[e];
          for (let k = 0; k < K; k++) {
            const src = t - (K - 1) + k;
            if (src >= 0) s += ws[k * E + e] * xs[(b * L + src) * E + e];
          }
          ref[(b * L + t) * E + e] = s;
        }
    const x = tf.tensor(xs, [B, L, E]);
    const w = tf.tensor(ws, [K, E]);
    const bias = tf.tensor(bs, [E]);
    const full = causalConv1d(x, w, bias);
    expectTensorsClose(full.y, ref, { atol: 1e-5 });
    // Two halves with the carried state give the same outputs.
    const a = causalConv1d(tf.slice(x, [0, 0, 0], [B, 2, E]), w, bias);
    const b2 = causalConv1d(tf.slice(x, [0, 2, 0], [B, L - 2, E]), w, bias, a.state);
    expectTensorsClose(tf.concat([a.y, b2.y], 1), ref, { atol: 1e-5 });
    tf.dispose([x, w, bias, full.y, full.state, a.y, a.state, b2.y, b2.state]);
  });
});

describe('gradients, hybrids, errors', () => {
  beforeAll(() => useBackend('cpu'));

  it('selective scan gradients match finite differences (u, delta, B, C)', () => {
    const [B, L, E, N] = [1, 5, 2, 3];
    const rng = new Rng(8);
    const A = tf.tensor(rng.uniformArray(E * N, -1, -0.1), [E, N]);
    const z = rng.normalTensor([B, L, E]);
    const D = rng.normalTensor([E]);
    const w = rng.normalTensor([B, L, E]);
    const ins = [rng.normalTensor([B, L, E]), rng.uniformTensor([B, L, E], -1, 0.5), rng.normalTensor([B, L, N]), rng.normalTensor([B, L, N])];
    gradCheck((u, delta, Bm, Cm) => tf.sum(tf.mul(selectiveScan({ u, delta, A, B: Bm, C: Cm, D, z, deltaSoftplus: true }).y, w)) as tf.Scalar, ins, { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([A, z, D, w, ...ins]);
  });

  it('a hybrid [mamba, attention] model builds, runs and decodes with mixed states', () => {
    const model = buildModel(registry, { vocab: 10, dModel: 16, layers: 2, heads: 2, layout: [{ mixer: { kind: 'mamba', d_state: 4 } }, null], seed: 3 }) as CausalLM;
    expect((model.blocks.at(0).mixer as Mamba).dInner).toBe(32);
    const ids = tf.tensor([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    const logits = model.forward(ids);
    expect(logits.shape).toEqual([1, 5, 10]);
    const cache = model.initCache(1);
    const stepped = tf.concat([model.step(tf.slice(ids, [0, 0], [1, 3]), cache), model.step(tf.slice(ids, [0, 3], [1, 2]), cache)], 1);
    expectTensorsClose(stepped, logits, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([ids, logits, stepped]);
    cache.dispose();
    model.dispose();
  });

  it('defaults follow the reference: d_inner = 2D, dt_rank = ceil(D/16), A_log = log(1..N), D = 1, Δ0 in [dt_min, dt_max]', () => {
    const m = make(40);
    expect([m.dInner, m.dtRank, m.dState, m.dConv]).toEqual([80, 3, 16, 4]);
    const aLog = m.A_log.dataSync();
    expect(Array.from(aLog.slice(0, 16)).map((v) => Math.round(Math.exp(v)))).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(Array.from(m.D.dataSync()).every((v) => v === 1)).toBe(true);
    const dt0 = Array.from(m.dt_proj.bias!.dataSync()).map((b) => Math.log1p(Math.exp(b)));
    expect(Math.min(...dt0)).toBeGreaterThanOrEqual(0.001 - 1e-6);
    expect(Math.max(...dt0)).toBeLessThanOrEqual(0.1 + 1e-6);
    m.dispose();
  });

  it('config errors name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'mamba', d_state: 0 }, 'mixer')).toThrow(/mixer\.d_state: d_state must be >= 1.*the paper uses 16.*got 0/s);
    expect(() => registry.validate('mixer', { kind: 'mamba', d_conv: 1 }, 'mixer')).toThrow(/mixer\.d_conv: d_conv must be >= 2.*got 1/s);
    expect(() => registry.validate('mixer', { kind: 'mamba', dt_rank: 'big' }, 'mixer')).toThrow(/mixer\.dt_rank: dt_rank must be 'auto'.*got "big"/s);
    expect(() => registry.validate('mixer', { kind: 'mamba', dstate: 8 }, 'mixer')).toThrow(/has no option "dstate".*Did you mean "d_state"/s);
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, mixer: { kind: 'mamba', dt_min: 0.5, dt_max: 0.1 } })).toThrow(/dt_min \(0\.5\) must be smaller than dt_max \(0\.1\)/);
    const cfg = registry.validate('mixer', { kind: 'mamba' }, 'm');
    let err: unknown;
    try {
      registry.check('mixer', cfg, { path: 'layers[1].mixer', causal: false });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/layers\[1\]\.mixer: mixer "mamba" is a causal scan.*Use it in a causal-lm model/);
  });

  it('exports the package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(mamba.version).toBe(VERSION);
  });

  it('declares its capabilities honestly (causal, decode; no segments/padding)', () => {
    expect(registry.capabilities('mixer', registry.validate('mixer', 'mamba'))).toEqual({ causal: true, bidirectional: false, decode: true, segments: false, padding: false });
  });
});
