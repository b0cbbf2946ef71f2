import { Rng, tf, type LayerState } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LinearAttention, LinearAttentionState } from '@weft/attn-linear';
import { naiveLinearAttention } from './naive.js';

const make = (chunkSize = 64) => new LinearAttention({ chunkSize, eps: 1e-6 });

describeWithBackends('linear attention vs the quadratic φ-attention', () => {
  const B = 2, H = 3, L = 13, D = 4, Dv = 5;
  const rng = new Rng(7);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    k = rng.normalTensor([B, H, L, D]);
    v = rng.normalTensor([B, H, L, Dv]);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H, Lq: L, Lk: L, D, Dv };

  for (const causal of [true, false]) {
    it(`${causal ? 'causal' : 'bidirectional'}: equals Σ_j φ(q_i)·φ(k_j) v_j / (Σ_j φ(q_i)·φ(k_j) + ε)`, () => {
      const out = make(4).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5 }));
      const ref = naiveLinearAttention(q.dataSync(), k.dataSync(), v.dataSync(), dims, { causal, offset: 0 });
      expect(out.shape).toEqual([B, H, L, Dv]);
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    });
  }

  it('the causal result does not depend on chunkSize (1, 2, 3, 5, 13, 64)', () => {
    const ref = naiveLinearAttention(q.dataSync(), k.dataSync(), v.dataSync(), dims, { causal: true, offset: 0 });
    for (const c of [1, 2, 3, 5, 13, 64]) {
      const out = make(c).attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('is not softmax attention in disguise: differs from dense attention on random inputs', () => {
    const out = make().attend(q, k, v, makeAttentionContext({ causal: true }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D, Dv }, { causal: true, scale: 1 / Math.sqrt(D), queryOffset: 0 });
    const a = out.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - soft[i]));
    expect(maxDiff).toBeGreaterThan(0.05);
    out.dispose();
  });

  it('ignores the softmax scale (no 1/sqrt(d), fast-transformers convention)', () => {
    const a = make().attend(q, k, v, makeAttentionContext({ causal: true, scale: 1 }));
    const b = make().attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.01 }));
    expectTensorsClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([a, b]);
  });

  it('key padding: padded keys contribute to neither S nor z (causal and bidirectional)', () => {
    const maskArr = new Float32Array(B * L).fill(1);
    for (let j = 9; j < L; j++) maskArr[j] = 0; // row 0: last 4 keys padded
    maskArr[L + 3] = 0; // row 1: a hole
    const mask = tf.tensor2d(maskArr, [B, L]);
    for (const causal of [true, false]) {
      const out = make(3).attend(q, k, v, makeAttentionContext({ causal, keyPaddingMask: mask }));
      const ref = naiveLinearAttention(q.dataSync(), k.dataSync(), v.dataSync(), dims, { causal, offset: 0, keyMask: maskArr });
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    mask.dispose();
  });

  it('decoding layout: 3 queries aligned to the last 3 of 10 keys (queryOffset = 7) equals the naive bottom-right mask', () => {
    const [Lq, Lk] = [3, 10];
    const q3 = rng.normalTensor([1, H, Lq, D]);
    const k10 = rng.normalTensor([1, H, Lk, D]);
    const v10 = rng.normalTensor([1, H, Lk, Dv]);
    const out = make(2).attend(q3, k10, v10, makeAttentionContext({ causal: true, queryOffset: Lk - Lq }));
    const ref = naiveLinearAttention(q3.dataSync(), k10.dataSync(), v10.dataSync(), { B: 1, H, Lq, Lk, D, Dv }, { causal: true });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q3, k10, v10, out]);
  });

  it('grouped-query layout: 4 query heads over 2 kv heads read kv head floor(h / 2)', () => {
    const Hq = 4, Hkv = 2;
    const qq = rng.normalTensor([1, Hq, 6, D]);
    const kk = rng.normalTensor([1, Hkv, 6, D]);
    const vv = rng.normalTensor([1, Hkv, 6, Dv]);
    const out = make(4).attend(qq, kk, vv, makeAttentionContext({ causal: true }));
    // Reference: expand kv heads by hand, then the naive formula.
    const kd = kk.arraySync() as number[][][][];
    const vd = vv.arraySync() as number[][][][];
    const kRep = [0, 0, 1, 1].map((g) => kd[0][g]).flat(2);
    const vRep = [0, 0, 1, 1].map((g) => vd[0][g]).flat(2);
    const ref = naiveLinearAttention(qq.dataSync(), kRep, vRep, { B: 1, H: Hq, Lq: 6, Lk: 6, D, Dv }, { causal: true });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([qq, kk, vv, out]);
  });

  it('attendStep from initState, fed 4 + 1 + 1 + 5 + 2 tokens with grouped kv heads, equals the naive causal form; state size is constant', () => {
    const Hq = 4, Hkv = 2, Lt = 13;
    const qq = rng.normalTensor([B, Hq, Lt, D]);
    const kk = rng.normalTensor([B, Hkv, Lt, D]);
    const vv = rng.normalTensor([B, Hkv, Lt, D]);
    const kernel = make(2);
    let state: LayerState = kernel.initState(B, { heads: Hq, kvHeads: Hkv, headDim: D, layerIndex: 0 });
    const bytes0 = state.bytes();
    expect(bytes0).toBe(4 * B * Hkv * (D * D + D));
    const outs: tf.Tensor[] = [];
    let t = 0;
    for (const n of [4, 1, 1, 5, 2]) {
      const piece = (x: tf.Tensor) => x.slice([0, 0, t, 0], [-1, -1, n, -1]);
      const [a, b, c] = [piece(qq), piece(kk), piece(vv)];
      const [o, next] = kernel.attendStep(a, b, c, state, makeAttentionContext({ causal: true }));
      expect(state instanceof LinearAttentionState && state.S.isDisposed).toBe(true); // consumed
      state = next;
      expect(state.bytes()).toBe(bytes0);
      outs.push(o);
      tf.dispose([a, b, c]);
      t += n;
    }
    const stepped = tf.concat(outs, 2);
    const kd = kk.arraySync() as number[][][][];
    const vd = vv.arraySync() as number[][][][];
    const expand = (x: number[][][][]) => x.map((row) => [0, 0, 1, 1].map((g) => row[g])).flat(3);
    const ref = naiveLinearAttention(qq.dataSync(), expand(kd), expand(vd), { B, H: Hq, Lq: Lt, Lk: Lt, D, Dv: D }, { causal: true });
    expectTensorsClose(stepped, ref, { atol: 1e-5, rtol: 1e-4 });
    expect((state as LinearAttentionState).tokens).toBe(Lt);
    tf.dispose([qq, kk, vv, stepped, ...outs]);
    state.dispose();
  });

  it('attendStep refuses a state it did not create, saying where to get one', () => {
    const foreign: LayerState = { bytes: () => 0, dispose: () => undefined };
    expect(() => make().attendStep(q, k, v, foreign, makeAttentionContext({ causal: true }))).toThrow(/needs the state from this kernel's initState.*model\.initCache/);
  });

  it('refuses a causal call whose queries are not aligned to the last keys, naming the values', () => {
    expect(() => make().attend(q, k, v, makeAttentionContext({ causal: true, queryOffset: 2 }))).toThrow(/queryOffset = Lk - Lq.*got queryOffset 2 with Lq 13, Lk 13/);
  });
});
