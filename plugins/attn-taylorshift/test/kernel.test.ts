import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { taylorDirect, taylorEfficient, taylorFeatures, TaylorShiftAttention, VERSION, type TaylorShiftSettings } from '@weft/attn-taylorshift';
import { naiveTaylor } from './naive.js';

const make = (settings: Partial<TaylorShiftSettings> = {}, H = 2) => new TaylorShiftAttention({ normalizeInput: true, ...settings }, H, new Rng(0));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

attentionKernelConformance('taylorshift (direct)', () => make({ crossover: 1000 }), { exact: false });
attentionKernelConformance('taylorshift (efficient)', () => make({ crossover: 0 }), { exact: false });

describeWithBackends('taylorshift vs Taylor-Softmax written naively', () => {
  const B = 2, H = 3, L = 10, D = 3;
  const rng = new Rng(17);
  let q: Tensor, k: Tensor, v: Tensor;
  const temps = [0.7, 1.0, 2.5];
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, L, D]));
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const causal of [false, true])
    for (const [form, crossover] of [['direct', 1000], ['efficient', 0]] as const) {
      it(`${causal ? 'causal' : 'bidirectional'}, ${form} form: equals the loop reference (unit-normalised q, k, learned per-head temperature)`, () => {
        const kernel = make({ crossover }, H);
        kernel.temperature!.assign(tf.tensor1d(temps));
        const out = kernel.attend(q, k, v, makeAttentionContext({ causal, scale: 0.123 }));
        expectTensorsClose(out, naiveTaylor(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, L, D }, { causal, temperature: temps }), { atol: 1e-5, rtol: 1e-4 });
        out.dispose();
        kernel.dispose();
      });
    }

  it('normalizeInput: false uses the mixer scale on raw q·k (both forms)', () => {
    for (const crossover of [0, 1000]) {
      const kernel = make({ normalizeInput: false, crossover }, H);
      expect(kernel.namedParameters()).toHaveLength(0);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.4 }));
      expectTensorsClose(out, naiveTaylor(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, L, D }, { causal: true, scale: 0.4 }), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('efficient == direct on the same inputs, causal and bidirectional (N = 40 > N0 = 13 for d = 3)', () => {
    const [a, b2, c] = [0, 1, 2].map(() => rng.normalTensor([1, 2, 40, D]));
    for (const causal of [false, true]) {
      const [x, y] = tf.tidy(() => [taylorDirect(a, b2, c, causal), taylorEfficient(a, b2, c, causal)]);
      expectTensorsClose(x, y.dataSync(), { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([x, y]);
    }
    tf.dispose([a, b2, c]);
  });

  it('φ(q)·φ(k) = 1 + q·k + (q·k)²/2 for the features [1, x, vec(x⊗x)/√2]', () => {
    const x = tf.tensor4d([0.3, -1.2, 0.5, 2.0, 0.1, -0.7], [1, 1, 2, 3]);
    const f = taylorFeatures(x);
    expect(f.shape).toEqual([1, 1, 2, 13]);
    const fv = f.dataSync();
    const dot = 0.3 * 2.0 + -1.2 * 0.1 + 0.5 * -0.7;
    let s = 0;
    for (let i = 0; i < 13; i++) s += fv[i] * fv[13 + i];
    expect(Math.abs(s - (1 + dot + (dot * dot) / 2))).toBeLessThan(1e-6);
    tf.dispose([x, f]);
  });

  it('the crossover defaults to the paper\'s N0 = d² + d + 1; an explicit crossover overrides it', () => {
    const kernel = make({}, 1);
    expect(kernel.crossoverFor(3)).toBe(13);
    expect(kernel.crossoverFor(8)).toBe(73);
    expect(make({ crossover: 5 }).crossoverFor(8)).toBe(5);
    kernel.dispose();
  });

  it('differs from softmax attention on random inputs', () => {
    const kernel = make({ normalizeInput: false }, H);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D }, { causal: false, scale: 1 });
    expect(maxAbs(out.dataSync(), soft)).toBeGreaterThan(0.05);
    out.dispose();
  });

  it('refuses key padding', () => {
    const mask = tf.ones([B, L]);
    expect(() => make({}, H).attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'taylorshift.json'), 'utf8'));

describeWithBackends('taylorshift: parity with the PyTorch port (tools/parity/attn-taylorshift.py)', () => {
  it('direct, efficient (with the reference stabilising scalings) and causal', () => {
    const [B, H, N, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, N, D]), tf.tensor4d(fixture.k, [B, H, N, D]), tf.tensor4d(fixture.v, [B, H, N, D])];
    for (const [key, crossover, causal] of [['direct', 1000, false], ['efficient', 0, false], ['causal', 1000, true], ['causal', 0, true]] as const) {
      const kernel = make({ crossover }, H);
      kernel.temperature!.assign(tf.tensor1d(fixture.temperature));
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal }));
      expectTensorsClose(out, fixture[key], { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('taylorshift: gradients', () => {
  it('d(loss)/d(q, k, v, temperature) match finite differences (both forms, causal)', () => {
    const rng = new Rng(5);
    const [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 5, 3]));
    const temp = tf.tensor1d([0.8, 1.6]);
    for (const crossover of [0, 1000]) {
      const kernel = make({ crossover }, 2);
      kernel.temperature!.assign(temp);
      const g = (a: Tensor, b: Tensor, c: Tensor) =>
        tf.tidy(() => {
          const [qh, kh] = kernel.prepare(a, b, 1); // unit-normalise, τ_h on q
          return tf.sum(tf.mul(crossover === 0 ? taylorEfficient(qh, kh, c, true) : taylorDirect(qh, kh, c, true), w)) as tf.Scalar;
        });
      expect(gradCheck(g, [q, k, v], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
      kernel.dispose();
    }
    const h = (t: Tensor) => tf.sum(tf.mul(taylorEfficient(tf.mul(q, tf.reshape(t, [1, 2, 1, 1])), k, v, false), w)) as tf.Scalar;
    expect(gradCheck(h, [temp], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([q, k, v, w, temp]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
