import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, type LayerState } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import lightning, { headSlopes, LightningAttention, LightningState, lightningCausal, transnormerLogDecay, VERSION } from '@weft/attn-lightning';
import { naiveDecayedLinear } from './naive.js';

const LAMBDA = [0.5, 0.8, 0.95, 1];
const bare = (blockSize: number, lambda = LAMBDA) =>
  new LightningAttention({ blockSize, logDecay: lambda.map(Math.log), featureMap: 'identity', normalize: 'none', normEps: 1e-6 });
const full = (blockSize: number, lambda = LAMBDA) =>
  new LightningAttention({ blockSize, logDecay: lambda.map(Math.log), featureMap: 'silu', normalize: 'srms', normEps: 1e-6 });

attentionKernelConformance('lightning (bare op)', () => bare(4, [0.5, 0.9]), { exact: false });
attentionKernelConformance('lightning (TransNormerLLM defaults)', () => full(4, [0.5, 0.9]), { exact: false });

describeWithBackends('lightning attention vs naive decayed linear attention', () => {
  const B = 2, H = 4, L = 13, D = 4, Dv = 3;
  const rng = new Rng(21);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    k = rng.normalTensor([B, H, L, D]);
    v = rng.normalTensor([B, H, L, Dv]);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H, Lq: L, Lk: L, D, Dv };

  it('o_i = Σ_{j≤i} λ_h^(i−j) (q_i·k_j) v_j for block sizes 1, 2, 3, 4, 5, 13 and 64', () => {
    const ref = naiveDecayedLinear(q.dataSync(), k.dataSync(), v.dataSync(), dims, LAMBDA);
    for (const c of [1, 2, 3, 4, 5, 13, 64]) {
      const out = bare(c).attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('with TransNormerLLM wrapping: SiLU on q, k and a simple RMS norm over each token’s heads', () => {
    const ref = naiveDecayedLinear(q.dataSync(), k.dataSync(), v.dataSync(), dims, LAMBDA, { silu: true, rmsNorm: 1e-6 });
    for (const c of [3, 16]) {
      const out = full(c).attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('a strongly decaying head forgets: λ → 0 reduces each output to (q_i·k_i) v_i', () => {
    const out = bare(4, [1e-12, 1e-12, 1e-12, 1e-12]).attend(q, k, v, makeAttentionContext({ causal: true }));
    const diagOnly = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D, Dv }, { causal: true, scale: 1, queryOffset: 0 });
    // Reference: the diagonal term only, written out.
    const qa = q.dataSync(), ka = k.dataSync(), va = v.dataSync();
    const ref = new Float64Array(B * H * L * Dv);
    for (let bh = 0; bh < B * H; bh++)
      for (let i = 0; i < L; i++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qa[(bh * L + i) * D + d] * ka[(bh * L + i) * D + d];
        for (let e = 0; e < Dv; e++) ref[(bh * L + i) * Dv + e] = dot * va[(bh * L + i) * Dv + e];
      }
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    // ... and it is not softmax attention.
    const o = out.dataSync();
    expect(Math.max(...Array.from(o, (x, i) => Math.abs(x - diagOnly[i])))).toBeGreaterThan(0.05);
    out.dispose();
  });

  it('key padding: masked keys contribute nothing', () => {
    const maskArr = new Float32Array(B * L).fill(1);
    maskArr[2] = 0;
    for (let j = 10; j < L; j++) maskArr[L + j] = 0;
    const mask = tf.tensor2d(maskArr, [B, L]);
    const out = bare(4).attend(q, k, v, makeAttentionContext({ causal: true, keyPaddingMask: mask }));
    const ref = naiveDecayedLinear(q.dataSync(), k.dataSync(), v.dataSync(), dims, LAMBDA, { keyMask: maskArr });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([mask, out]);
  });

  it('decoding layout: 3 queries against 11 keys (queryOffset 8) equals the naive bottom-right form', () => {
    const q3 = rng.normalTensor([1, H, 3, D]);
    const k11 = rng.normalTensor([1, H, 11, D]);
    const v11 = rng.normalTensor([1, H, 11, Dv]);
    const out = bare(2).attend(q3, k11, v11, makeAttentionContext({ causal: true, queryOffset: 8 }));
    const ref = naiveDecayedLinear(q3.dataSync(), k11.dataSync(), v11.dataSync(), { B: 1, H, Lq: 3, Lk: 11, D, Dv }, LAMBDA);
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q3, k11, v11, out]);
  });

  it('carried state: splitting the sequence and continuing from the state equals one pass', () => {
    const fq = q, fk = k;
    const logDecay = tf.tensor1d(LAMBDA.map(Math.log));
    const [a, b2, whole] = tf.tidy(() => {
      const first = lightningCausal(fq.slice([0, 0, 0, 0], [B, H, 6, D]), fk.slice([0, 0, 0, 0], [B, H, 6, D]), v.slice([0, 0, 0, 0], [B, H, 6, Dv]), logDecay, 4);
      const second = lightningCausal(fq.slice([0, 0, 6, 0], [B, H, 7, D]), fk.slice([0, 0, 6, 0], [B, H, 7, D]), v.slice([0, 0, 6, 0], [B, H, 7, Dv]), logDecay, 3, first.S);
      const one = lightningCausal(fq, fk, v, logDecay, 5);
      return [tf.concat([first.out, second.out], 2), second.S, one];
    });
    expectTensorsClose(a, whole.out, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(b2, whole.S, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([logDecay, a, b2, whole.out, whole.S]);
  });

  it('attendStep from initState, fed 4 + 1 + 1 + 5 + 2 tokens over 2 kv heads, equals one attend call (TransNormerLLM wrapping); state size constant', () => {
    const Hkv = 2, Lt = 13;
    const kk = rng.normalTensor([B, Hkv, Lt, D]);
    const vv = rng.normalTensor([B, Hkv, Lt, D]);
    const qq = rng.normalTensor([B, H, Lt, D]);
    const kernel = full(2);
    const whole = kernel.attend(qq, kk, vv, makeAttentionContext({ causal: true }));
    // Independent reference for the whole sequence: kv heads expanded by hand, then the naive loops.
    const expand = (x: tf.Tensor) => (x.arraySync() as number[][][][]).map((row) => [0, 0, 1, 1].map((g) => row[g])).flat(3);
    const ref = naiveDecayedLinear(qq.dataSync(), expand(kk), expand(vv), { B, H, Lq: Lt, Lk: Lt, D, Dv: D }, LAMBDA, { silu: true, rmsNorm: 1e-6 });
    expectTensorsClose(whole, ref, { atol: 1e-5, rtol: 1e-4 });
    let state: LayerState = kernel.initState(B, { heads: H, kvHeads: Hkv, headDim: D, layerIndex: 0 });
    expect(state.bytes()).toBe(4 * B * H * D * D);
    const outs: tf.Tensor[] = [];
    let t = 0;
    for (const n of [4, 1, 1, 5, 2]) {
      const piece = (x: tf.Tensor) => x.slice([0, 0, t, 0], [-1, -1, n, -1]);
      const [a, b, c] = [piece(qq), piece(kk), piece(vv)];
      const prev = state as LightningState;
      const [o, next] = kernel.attendStep(a, b, c, state, makeAttentionContext({ causal: true }));
      expect(prev.S.isDisposed).toBe(true); // consumed
      state = next;
      expect(state.bytes()).toBe(4 * B * H * D * D);
      outs.push(o);
      tf.dispose([a, b, c]);
      t += n;
    }
    const stepped = tf.concat(outs, 2);
    expectTensorsClose(stepped, ref, { atol: 1e-5, rtol: 1e-4 });
    expect((state as LightningState).tokens).toBe(Lt);
    tf.dispose([qq, kk, vv, whole, stepped, ...outs]);
    state.dispose();
  });

  it('attendStep refuses a state it did not create', () => {
    const foreign: LayerState = { bytes: () => 0, dispose: () => undefined };
    expect(() => bare(4).attendStep(q, k, v, foreign, makeAttentionContext({ causal: true }))).toThrow(/needs the state from this kernel's initState.*model\.initCache/);
  });

  it('refuses bidirectional use with a message that says what to use', () => {
    expect(() => bare(4).attend(q, k, v, makeAttentionContext({ causal: false }))).toThrow(/causal only.*use a bidirectional kernel such as linear or dense/);
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'lightning.json'), 'utf8'));

describeWithBackends('lightning attention: parity with the PyTorch port (tools/parity/attn-lightning.py)', () => {
  it('decay schedule, bare op (recurrent loop in PyTorch), final state, and the TransNormerLLM wrapping', () => {
    const [B, H, L, D] = fixture.shape as number[];
    const Dv = fixture.valueDim as number;
    const lambda = transnormerLogDecay(H, fixture.layer, fixture.layers).map(Math.exp);
    expectTensorsClose(lambda, fixture.decay, { atol: 1e-12, rtol: 1e-9 });
    const q = tf.tensor4d(fixture.q, [B, H, L, D]);
    const k = tf.tensor4d(fixture.k, [B, H, L, D]);
    const v = tf.tensor4d(fixture.v, [B, H, L, Dv]);
    const kernel = createRegistry().use(lightning).create('attention', { kind: 'lightning', blockSize: 4 }, { dims: { heads: H, layers: fixture.layers }, layerIndex: fixture.layer });
    const wrapped = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
    expectTensorsClose(wrapped, fixture.transnormer, { atol: 1e-5, rtol: 1e-4 });
    const logDecay = tf.tensor1d(fixture.decay.map(Math.log));
    const { out, S } = tf.tidy(() => lightningCausal(q, k, v, logDecay, 3));
    expectTensorsClose(out, fixture.bare, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(S, fixture.finalState, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, wrapped, logDecay, out, S]);
  });
});

describeWithBackends('lightning attention: gradients', () => {
  it('d(loss)/d(q, k, v) match finite differences (bare op and TransNormerLLM wrapping)', () => {
    const rng = new Rng(4);
    const [q, k, v, w] = [rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3]), rng.normalTensor([1, 2, 7, 3])];
    for (const kernel of [bare(3, [0.6, 0.9]), full(3, [0.6, 0.9])]) {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal: true })), w)) as tf.Scalar;
      expect(gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 }).maxAbsError).toBeLessThan(2e-2);
    }
    tf.dispose([q, k, v, w]);
  });
});

describe('decay schedule and package', () => {
  it('head slopes are ALiBi’s: H = 8 gives 1/2 .. 1/256; H = 6 gives [1/4, 1/16, 1/64, 1/256, 1/2, 1/8]', () => {
    expect(headSlopes(8)).toEqual([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
    expectTensorsClose(headSlopes(6), [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8], { atol: 1e-15, rtol: 1e-12 });
  });
  it('layer scaling: first layer keeps the slopes, last layer has ~no decay (TransNormerLLM)', () => {
    expectTensorsClose(transnormerLogDecay(4, 0, 5), [1 / 4, 1 / 16, 1 / 64, 1 / 256].map((s) => -s * (1 + 1e-5)), { atol: 1e-15, rtol: 1e-12 });
    expectTensorsClose(transnormerLogDecay(4, 4, 5), [1 / 4, 1 / 16, 1 / 64, 1 / 256].map((s) => -s * 1e-5), { atol: 1e-15, rtol: 1e-9 });
  });
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
