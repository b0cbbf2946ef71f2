import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type LayerState } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { cottention, CottentionAttention, CottentionState, VERSION } from '@weft/attn-cottention';
import { naiveCottention } from './naive.js';

const make = (heads: number, chunkSize = 4, m?: number[]) => {
  const kernel = new CottentionAttention({ chunkSize }, heads, new Rng(0));
  if (m) kernel.m.assign(tf.tensor1d(m));
  return kernel;
};

attentionKernelConformance('cottention', () => make(2), { exact: false });

describeWithBackends('cottention vs the quadratic cosine attention written naively', () => {
  const B = 2, H = 3, L = 13, D = 4, Dv = 5;
  const M = [0.5, -1.2, 2.5];
  const rng = new Rng(7);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    k = rng.normalTensor([B, H, L, D]);
    v = rng.normalTensor([B, H, L, Dv]);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H, Lq: L, Lk: L, D, Dv };

  it('m_h starts at 0.5 for every head (reference GPT code)', () => {
    const kernel = make(H);
    expectTensorsClose(kernel.m, [0.5, 0.5, 0.5], { atol: 0, rtol: 0 });
    expect(kernel.namedParameters().map(([n]) => n)).toEqual(['m']);
    kernel.dispose();
  });

  for (const causal of [true, false]) {
    it(`${causal ? 'causal: value row j divided by (j+1)^σ(m_h)' : 'bidirectional: divided by L^σ(m_h)'}, no softmax, no 1/sqrt(d)`, () => {
      const kernel = make(H, 4, M);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal, scale: 0.3 }));
      expect(out.shape).toEqual([B, H, L, Dv]);
      expectTensorsClose(out, naiveCottention(q.dataSync(), k.dataSync(), v.dataSync(), M, dims, causal), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    });
  }

  it('chunked == unchunked: the causal result does not depend on chunkSize (1, 2, 3, 5, 13, 64)', () => {
    const whole = make(H, 64, M);
    const ref = whole.attend(q, k, v, makeAttentionContext({ causal: true }));
    for (const c of [1, 2, 3, 5, 13]) {
      const kernel = make(H, c, M);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    tf.dispose([ref]);
    whole.dispose();
  });

  it('causal: changing token t+1.. leaves outputs up to t unchanged', () => {
    const kernel = make(H, 3, M);
    const t = 6;
    const [a, b] = tf.tidy(() => {
      const tail = (x: tf.Tensor) => tf.concat([x.slice([0, 0, 0, 0], [-1, -1, t + 1, -1]), rng.normalTensor([B, H, L - t - 1, (x.shape as number[])[3]])], 2);
      const ctx = makeAttentionContext({ causal: true });
      const o1 = kernel.attend(q, k, v, ctx).slice([0, 0, 0, 0], [-1, -1, t + 1, -1]);
      const o2 = kernel.attend(tail(q), tail(k), tail(v), ctx).slice([0, 0, 0, 0], [-1, -1, t + 1, -1]);
      return [o1, o2];
    });
    expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([a, b]);
    kernel.dispose();
  });

  it('cosine similarity: scaling q and k by positive numbers changes nothing', () => {
    const kernel = make(H, 4, M);
    const a = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
    const [q2, k2] = [tf.mul(q, 7.5), tf.mul(k, 0.01)];
    const b = kernel.attend(q2, k2, v, makeAttentionContext({ causal: true }));
    expectTensorsClose(a, b, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([a, b, q2, k2]);
    kernel.dispose();
  });

  it('is not softmax attention in disguise: differs from dense attention on random inputs', () => {
    const kernel = make(H);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D, Dv }, { causal: true, scale: 1 / Math.sqrt(D), queryOffset: 0 });
    const o = out.dataSync();
    expect(Math.max(...Array.from(o, (x, i) => Math.abs(x - soft[i])))).toBeGreaterThan(0.05);
    out.dispose();
    kernel.dispose();
  });

  it('decoding layout: 3 queries aligned to the last 3 of 10 keys (queryOffset 7) equals the naive bottom-right form', () => {
    const kernel = make(H, 2, M);
    const [q3, k10, v10] = [rng.normalTensor([1, H, 3, D]), rng.normalTensor([1, H, 10, D]), rng.normalTensor([1, H, 10, Dv])];
    const out = kernel.attend(q3, k10, v10, makeAttentionContext({ causal: true, queryOffset: 7 }));
    expectTensorsClose(out, naiveCottention(q3.dataSync(), k10.dataSync(), v10.dataSync(), M, { B: 1, H, Lq: 3, Lk: 10, D, Dv }, true), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q3, k10, v10, out]);
    kernel.dispose();
  });

  it('attendStep from initState, fed 4 + 1 + 1 + 5 + 2 tokens over grouped kv heads, equals the naive causal form; state size constant', () => {
    const Hq = 4, Hkv = 2, Lt = 13, m4 = [0.5, -1, 1.5, 3];
    const kernel = make(Hq, 2, m4);
    const qq = rng.normalTensor([B, Hq, Lt, D]);
    const kk = rng.normalTensor([B, Hkv, Lt, D]);
    const vv = rng.normalTensor([B, Hkv, Lt, D]);
    let state: LayerState = kernel.initState(B, { heads: Hq, kvHeads: Hkv, headDim: D, layerIndex: 0 });
    expect(state.bytes()).toBe(4 * B * Hq * D * D);
    const outs: tf.Tensor[] = [];
    let t = 0;
    for (const n of [4, 1, 1, 5, 2]) {
      const piece = (x: tf.Tensor) => x.slice([0, 0, t, 0], [-1, -1, n, -1]);
      const [a, b, c] = [piece(qq), piece(kk), piece(vv)];
      const prev = state as CottentionState;
      const [o, next] = kernel.attendStep(a, b, c, state, makeAttentionContext({ causal: true }));
      expect(prev.S.isDisposed).toBe(true); // consumed
      state = next;
      expect(state.bytes()).toBe(4 * B * Hq * D * D);
      outs.push(o);
      tf.dispose([a, b, c]);
      t += n;
    }
    const stepped = tf.concat(outs, 2);
    const expand = (x: tf.Tensor) => (x.arraySync() as number[][][][]).map((row) => [0, 0, 1, 1].map((g) => row[g])).flat(3);
    const ref = naiveCottention(qq.dataSync(), expand(kk), expand(vv), m4, { B, H: Hq, Lq: Lt, Lk: Lt, D, Dv: D }, true);
    expectTensorsClose(stepped, ref, { atol: 1e-5, rtol: 1e-4 });
    expect((state as CottentionState).tokens).toBe(Lt);
    tf.dispose([qq, kk, vv, stepped, ...outs]);
    state.dispose();
    kernel.dispose();
  });

  it('errors name the problem and the fix', () => {
    const kernel = make(H);
    const foreign: LayerState = { bytes: () => 0, dispose: () => undefined };
    expect(() => kernel.attendStep(q, k, v, foreign, makeAttentionContext({ causal: true }))).toThrow(/needs the state from this kernel's initState.*model\.initCache/);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true, queryOffset: 2 }))).toThrow(/queryOffset = Lk - Lq.*got queryOffset 2 with Lq 13, Lk 13/);
    const mask = tf.ones([B, L]);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    expect(() => make(2).attend(q, k, v, makeAttentionContext({ causal: true }))).toThrow(/m for 2 heads but got 3 query heads/);
    mask.dispose();
    kernel.dispose();
  });
});

interface Fixture {
  shape: [number, number, number, number];
  valueDim: number;
  q: number[]; k: number[]; v: number[]; m: number[]; w: number[];
  causal: number[]; finalState: number[]; bidirectional: number[];
  gradMCausal: number[]; gradMBidirectional: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'cottention.json'), 'utf8'));

describeWithBackends('cottention: parity with the PyTorch port (tools/parity/attn-cottention.py)', () => {
  const [B, H, L, D] = fixture.shape;
  const Dv = fixture.valueDim;
  const load = () => [tf.tensor4d(fixture.q, [B, H, L, D]), tf.tensor4d(fixture.k, [B, H, L, D]), tf.tensor4d(fixture.v, [B, H, L, Dv]), tf.tensor4d(fixture.w, [B, H, L, Dv])];

  it('causal (GPT mask-count form) for chunk sizes 1, 4, 64; bidirectional; final RNN state', () => {
    const [q, k, v, w] = load();
    for (const c of [1, 4, 64]) {
      const kernel = make(H, c, fixture.m);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, fixture.causal, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    const kernel = make(H, 4, fixture.m);
    const bidi = kernel.attend(q, k, v, makeAttentionContext({ causal: false }));
    expectTensorsClose(bidi, fixture.bidirectional, { atol: 1e-5, rtol: 1e-4 });
    // The RNN form from a zero state (built by hand: this fixture has Dv ≠ Dh) ends in PyTorch's S.
    const zero = new CottentionState(tf.keep(tf.zeros([B, H, D, Dv])), 0);
    const [o, state] = kernel.attendStep(q, k, v, zero, makeAttentionContext({ causal: true }));
    expectTensorsClose(o, fixture.causal, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose((state as CottentionState).S, fixture.finalState, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([o]);
    state.dispose();
    tf.dispose([q, k, v, w, bidi]);
    kernel.dispose();
  });
});

describeWithBackends('cottention: gradients', () => {
  it('d(loss)/d(q, k, v, m) match finite differences (causal chunked form and bidirectional form)', () => {
    const rng = new Rng(3);
    const [q, k, v, w] = [rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3])];
    const m = tf.tensor1d([0.3, -0.8]);
    for (const causal of [true, false]) {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, mm: tf.Tensor) => tf.sum(tf.mul(cottention(a, b, c, mm, { causal, chunkSize: 3 }), w)) as tf.Scalar;
      const { maxAbsError } = gradCheck(f, [q, k, v, m], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
      expect(maxAbsError).toBeLessThan(2e-2);
    }
    tf.dispose([q, k, v, w, m]);
  });

  it('the gradient reaching the kernel parameter m_h equals PyTorch autograd on the fixture', () => {
    const [B, H, L, D] = fixture.shape;
    const Dv = fixture.valueDim;
    const [q, k, v, w] = [tf.tensor4d(fixture.q, [B, H, L, D]), tf.tensor4d(fixture.k, [B, H, L, D]), tf.tensor4d(fixture.v, [B, H, L, Dv]), tf.tensor4d(fixture.w, [B, H, L, Dv])];
    for (const [causal, expected] of [[true, fixture.gradMCausal], [false, fixture.gradMBidirectional]] as const) {
      const kernel = make(H, 4, fixture.m);
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(kernel.attend(q, k, v, makeAttentionContext({ causal })), w)) as tf.Scalar, [kernel.m]);
      expectTensorsClose(grads[kernel.m.name], expected, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([value, ...Object.values(grads)]);
      kernel.dispose();
    }
    tf.dispose([q, k, v, w]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
