import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { attentionKL, featureMap, HedgehogAttention, linearAttend, VERSION } from '@weft/attn-hedgehog';
import { naiveHedgehog } from './naive.js';

const make = (H = 2, D = 8) => new HedgehogAttention(H, D, new Rng(0));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

attentionKernelConformance('hedgehog', () => make(), { exact: false });

describeWithBackends('hedgehog vs the formula written naively', () => {
  const B = 2, H = 2, N = 9, D = 4;
  const rng = new Rng(31);
  let q: Tensor, k: Tensor, v: Tensor;
  const Wv = Array.from({ length: H * D * D }, (_, i) => (i % (D * D)) % (D + 1) === 0 ? 1 + 0.2 * Math.sin(i) : 0.3 * Math.cos(3 * i));
  const bv = Array.from({ length: H * D }, (_, i) => 0.1 * Math.sin(5 * i));
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, N, D], 0, 0.7));
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'bidirectional'}: equals the loop reference with a trained-looking W, b; ignores the softmax scale`, () => {
      const kernel = make(H, D);
      kernel.W.assign(tf.tensor3d(Wv, [H, D, D]));
      kernel.b.assign(tf.tensor2d(bv, [H, D]));
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal, scale: 0.123 }));
      expectTensorsClose(out, naiveHedgehog(q.dataSync(), k.dataSync(), v.dataSync(), Wv, bv, { B, H, N, D }, causal), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    });
  }

  it('W is initialised to the identity and b to zero: φ(x) = [exp(x), exp(−x)]', () => {
    const kernel = make(H, D);
    const f = featureMap(q, kernel.W, kernel.b);
    const want = tf.tidy(() => tf.concat([tf.exp(q), tf.exp(tf.neg(q))], -1));
    expectTensorsClose(f, want.dataSync(), { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([f, want]);
    kernel.dispose();
  });

  it('differs from softmax attention on random inputs', () => {
    const out = make(H, D).attend(q, k, v, makeAttentionContext({ causal: false }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: N, Lk: N, Dh: D }, { causal: false, scale: 1 / Math.sqrt(D) });
    expect(maxAbs(out.dataSync(), soft)).toBeGreaterThan(0.01);
    out.dispose();
  });

  it('distillation: minimising the attention KL over W, b only lowers the KL to the softmax weights on toy data (causal and bidirectional)', () => {
    for (const causal of [false, true]) {
      const kernel = make(H, D);
      const [q2, k2] = [rng.normalTensor([B, H, 12, D], 0, 1.5), rng.normalTensor([B, H, 12, D], 0, 1.5)];
      const kl = () => attentionKL(q2, k2, kernel.W, kernel.b, causal, 1 / Math.sqrt(D));
      const before = tf.tidy(() => kl().dataSync()[0]);
      const opt = tf.train.adam(3e-2);
      for (let i = 0; i < 60; i++) tf.dispose(opt.minimize(kl, true, [kernel.W, kernel.b])!);
      const after = tf.tidy(() => kl().dataSync()[0]);
      expect(after).toBeLessThan(0.5 * before);
      opt.dispose();
      tf.dispose([q2, k2]);
      kernel.dispose();
    }
  });

  it('refuses key padding', () => {
    const mask = tf.ones([B, N]);
    expect(() => make(H, D).attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'hedgehog.json'), 'utf8'));

describeWithBackends('hedgehog: parity with the PyTorch port (tools/parity/attn-hedgehog.py)', () => {
  it('outputs (causal, bidirectional) and the distillation KL', () => {
    const [B, H, N, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, N, D]), tf.tensor4d(fixture.k, [B, H, N, D]), tf.tensor4d(fixture.v, [B, H, N, D])];
    const kernel = make(H, D);
    kernel.W.assign(tf.tensor3d(fixture.W, [H, D, D]));
    kernel.b.assign(tf.tensor2d(fixture.b, [H, D]));
    for (const causal of [false, true]) {
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal }));
      expectTensorsClose(out, fixture[causal ? 'causal' : 'bidirectional'], { atol: 1e-5, rtol: 1e-4 });
      const kl = attentionKL(q, k, kernel.W, kernel.b, causal, 1 / Math.sqrt(D));
      expect(Math.abs(kl.dataSync()[0] - fixture[causal ? 'klCausal' : 'klBidirectional'])).toBeLessThan(1e-5);
      tf.dispose([out, kl]);
    }
    kernel.dispose();
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('hedgehog: gradients', () => {
  it('d(loss)/d(q, k, v, W, b) of the causal output (one chunk) and d(KL)/d(W, b) match finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 5, 3], 0, 0.5));
    const W = tf.tidy(() => tf.add(tf.stack([tf.eye(3), tf.eye(3)]), rng.normalTensor([2, 3, 3], 0, 0.2)));
    const b = rng.normalTensor([2, 3], 0, 0.2);
    const f = (a: Tensor, c: Tensor, d: Tensor, Wt: Tensor, bt: Tensor) => tf.sum(tf.mul(linearAttend(featureMap(a, Wt, bt), featureMap(c, Wt, bt), d, true), w)) as tf.Scalar;
    expect(gradCheck(f, [q, k, v, W, b], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    const g = (Wt: Tensor, bt: Tensor) => attentionKL(q, k, Wt, bt, true, 0.6);
    expect(gradCheck(g, [W, b], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([q, k, v, w, W, b]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
