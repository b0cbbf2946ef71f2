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

describeWithBackends('taylorshift: the chunked efficient form', (backend) => {
  const rng = new Rng(23);
  const B = 1, H = 2, L = 11, D = 3;
  let q: Tensor, k: Tensor, v: Tensor;
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, L, D]));
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const causal of [false, true])
    it(`${causal ? 'causal' : 'bidirectional'}: every chunk size (1, 3, 4, 11, 64) gives the loop reference`, () => {
      const ref = naiveTaylor(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, L, D }, { causal, scale: 1 });
      const before = tf.memory().numTensors;
      for (const chunk of [1, 3, 4, 11, 64]) {
        const out = taylorEfficient(q, k, v, causal, chunk);
        expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
        out.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });

  it('bidirectional with fewer queries than keys (Nq = 5, N = 11), chunk 2: the loop reference on the first 5 queries', () => {
    const q5 = tf.slice(q, [0, 0, 0, 0], [B, H, 5, D]);
    const out = taylorEfficient(q5, k, v, false, 2);
    // The loop reference over the full length, keeping each head's first 5 query rows.
    const full = naiveTaylor(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, L, D }, { causal: false, scale: 1 });
    const ref = Array.from({ length: H }, (_, h) => Array.from(full.subarray(h * L * D, h * L * D + 5 * D))).flat();
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q5, out]);
  });

  it('gradients of the chunked form (chunk 3, four chunks) equal autodiff of the direct form, causal and bidirectional; no leaks', () => {
    const w = rng.normalTensor([B, H, L, D]);
    for (const causal of [false, true]) {
      const before = tf.memory().numTensors;
      const loss = (form: 'chunked' | 'direct') => (a: Tensor, b: Tensor, c: Tensor) =>
        tf.sum(tf.mul(form === 'chunked' ? taylorEfficient(a, b, c, causal, 3) : taylorDirect(a, b, c, causal), w)) as tf.Scalar;
      const chunked = tf.grads(loss('chunked'))([q, k, v]);
      const direct = tf.grads(loss('direct'))([q, k, v]);
      chunked.forEach((g, i) => expectTensorsClose(g, direct[i].dataSync(), { atol: 1e-4, rtol: 1e-3 }));
      tf.dispose([...chunked, ...direct]);
      expect(tf.memory().numTensors).toBe(before);
    }
    w.dispose();
  });

  it('chunked gradients match finite differences (chunk 2, causal and bidirectional)', () => {
    const r = new Rng(29);
    const [a, b, c, w] = [0, 1, 2, 3].map(() => r.normalTensor([1, 1, 5, 2]));
    for (const causal of [false, true]) {
      const f = (x: Tensor, y: Tensor, z: Tensor) => tf.sum(tf.mul(taylorEfficient(x, y, z, causal, 2), w)) as tf.Scalar;
      expect(gradCheck(f, [a, b, c], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    }
    tf.dispose([a, b, c, w]);
  });

  it('the kernel passes its chunk setting through (chunk 2 == chunk 64 == direct form)', () => {
    const ctx = makeAttentionContext({ causal: true, scale: 0.5 });
    const outs = [{ crossover: 0, chunk: 2 }, { crossover: 0, chunk: 64 }, { crossover: 1000 }].map((s) => {
      const kernel = make({ normalizeInput: false, ...s }, H);
      const o = kernel.attend(q, k, v, ctx);
      kernel.dispose();
      return o;
    });
    expectTensorsClose(outs[0], outs[2].dataSync(), { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(outs[1], outs[2].dataSync(), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose(outs);
  });

  // Which tensors are alive depends only on the op sequence, not the backend; the cpu backend is
  // too slow at these lengths for the suite, so this runs on wasm only.
  if (backend === 'wasm') it('peak memory grows by less than one feature row per token (O(C·F + F·dv), not O(N·F)): forward and backward, N = 1024 → 2048, d = 16 (F = 273), chunk 64', async () => {
    const d = 16, dv = 2, chunk = 64;
    const rowBytes = (1 + d + d * d) * 4; // one φ row: 1092 bytes. The old causal cumulative sum kept F·(1 + dv) per token, the old bidirectional autodiff φ(Q), φ(K) and x⊗x.
    const r = new Rng(31);
    const peaks = async (N: number, causal: boolean) => {
      const [a, b] = [0, 1].map(() => r.normalTensor([1, 1, N, d]));
      const c = r.normalTensor([1, 1, N, dv]);
      const base = tf.memory().numBytes;
      const fwd = (await tf.profile(() => tf.tidy(() => taylorEfficient(a, b, c, causal, chunk)).dispose())).peakBytes - base;
      const bwd = (await tf.profile(() => tf.dispose(tf.grads((x: Tensor, y: Tensor, z: Tensor) => tf.sum(taylorEfficient(x, y, z, causal, chunk)) as tf.Scalar)([a, b, c])))).peakBytes - base;
      tf.dispose([a, b, c]);
      return { fwd, bwd };
    };
    for (const causal of [false, true]) {
      const [short, long] = [await peaks(1024, causal), await peaks(2048, causal)];
      // Per extra token: inputs' gradients and [N, d] / [N, 1 + dv] intermediates (a few hundred bytes), never a φ row.
      expect((long.fwd - short.fwd) / 1024).toBeLessThan(rowBytes / 2);
      expect((long.bwd - short.bwd) / 1024).toBeLessThan(rowBytes);
      expect(long.fwd).toBeLessThan(2048 * rowBytes / 2); // and below half of what φ(K) [N, F] alone would take
    }
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
