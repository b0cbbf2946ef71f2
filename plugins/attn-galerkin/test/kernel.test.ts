import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { galerkinAttention, GalerkinAttention, headLayerNorm, VERSION, type GalerkinVariant } from '@weft/attn-galerkin';
import { naiveGalerkinFourier } from './naive.js';

const VARIANTS: GalerkinVariant[] = ['galerkin', 'fourier'];
const make = (variant: GalerkinVariant, H = 2, D = 8) => new GalerkinAttention(variant, H, D, 1e-5, new Rng(0));

for (const variant of VARIANTS) attentionKernelConformance(variant, () => make(variant), { exact: false });

describeWithBackends('galerkin / fourier attention vs the formulas written naively', () => {
  const B = 2, H = 3, L = 10, D = 4;
  const rng = new Rng(11);
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  const norms = { gainA: rng.normalArray(H * D, 1, 0.3), biasA: rng.normalArray(H * D, 0, 0.2), gainB: rng.normalArray(H * D, 1, 0.3), biasB: rng.normalArray(H * D, 0, 0.2) };
  const withNorms = (variant: GalerkinVariant) => {
    const kernel = make(variant, H, D);
    kernel.gainA.assign(tf.tensor2d(norms.gainA, [H, D]));
    kernel.biasA.assign(tf.tensor2d(norms.biasA, [H, D]));
    kernel.gainB.assign(tf.tensor2d(norms.gainB, [H, D]));
    kernel.biasB.assign(tf.tensor2d(norms.biasB, [H, D]));
    return kernel;
  };
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    k = rng.normalTensor([B, H, L, D]);
    v = rng.normalTensor([B, H, L, D]);
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const variant of VARIANTS) {
    it(`${variant}: equals the quadratic-order formula (n×n first) — the associativity identity — with learned LN gains/biases; ignores the softmax scale`, () => {
      const kernel = withNorms(variant);
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.123 }));
      expect(out.shape).toEqual([B, H, L, D]);
      expectTensorsClose(out, naiveGalerkinFourier(variant, q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, D }, norms), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    });
  }

  it('associativity in tfjs too: Q(LN(K)ᵀLN(V)) == (Q LN(K)ᵀ)LN(V) and LN(Q)(LN(K)ᵀV) == (LN(Q)LN(K)ᵀ)V', () => {
    const kernel = withNorms('galerkin');
    const [a, b, c, d] = tf.tidy(() => {
      const kn = headLayerNorm(k, kernel.gainA, kernel.biasA, 1e-5);
      const vn = headLayerNorm(v, kernel.gainB, kernel.biasB, 1e-5);
      const qn = headLayerNorm(q, kernel.gainA, kernel.biasA, 1e-5);
      return [
        tf.matMul(q, tf.matMul(kn, vn, true, false)), tf.matMul(tf.matMul(q, kn, false, true), vn),
        tf.matMul(qn, tf.matMul(kn, v, true, false)), tf.matMul(tf.matMul(qn, kn, false, true), v),
      ];
    });
    expectTensorsClose(a, b.dataSync(), { atol: 1e-4, rtol: 1e-4 });
    expectTensorsClose(c, d.dataSync(), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([a, b, c, d]);
    kernel.dispose();
  });

  it('length normalisation: repeating every key/value row twice (n → 2n) leaves the output unchanged', () => {
    for (const variant of VARIANTS) {
      const kernel = withNorms(variant);
      const [a, b] = tf.tidy(() => [
        kernel.attend(q, k, v, makeAttentionContext({ causal: false })),
        kernel.attend(q, tf.concat([k, k], 2), tf.concat([v, v], 2), makeAttentionContext({ causal: false })),
      ]);
      expectTensorsClose(a, b.dataSync(), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([a, b]);
      kernel.dispose();
    }
  });

  it('is not softmax attention: differs from dense attention on random inputs', () => {
    const kernel = make('fourier', H, D);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh: D }, { causal: false, scale: 1 / Math.sqrt(D) });
    const o = out.dataSync();
    expect(Math.max(...Array.from(o, (x, i) => Math.abs(x - soft[i])))).toBeGreaterThan(0.05);
    out.dispose();
    kernel.dispose();
  });

  it('layer norms are parameters of the kernel (gain 1, bias 0 at init), named after what they normalise', () => {
    expect(make('galerkin').namedParameters().map(([n]) => n)).toEqual(['normK.gain', 'normK.bias', 'normV.gain', 'normV.bias']);
    const f = make('fourier');
    expect(f.namedParameters().map(([n]) => n)).toEqual(['normQ.gain', 'normQ.bias', 'normK.gain', 'normK.bias']);
    expectTensorsClose(f.gainA, new Array(16).fill(1), { atol: 0, rtol: 0 });
    f.dispose();
  });

  it('refuses causal use and key padding, saying what to use', () => {
    const kernel = make('galerkin', H, D);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true }))).toThrow(/bidirectional only.*use a causal kernel such as dense or linear/);
    const mask = tf.ones([B, L]);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
    kernel.dispose();
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'galerkin.json'), 'utf8'));

describeWithBackends('galerkin / fourier: parity with the PyTorch port (tools/parity/attn-galerkin.py)', () => {
  it('both variants, with per-head layer norms', () => {
    const [B, H, n, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, n, D]), tf.tensor4d(fixture.k, [B, H, n, D]), tf.tensor4d(fixture.v, [B, H, n, D])];
    for (const variant of VARIANTS) {
      const kernel = make(variant, H, D);
      kernel.gainA.assign(tf.tensor2d(fixture.gainA, [H, D]));
      kernel.biasA.assign(tf.tensor2d(fixture.biasA, [H, D]));
      kernel.gainB.assign(tf.tensor2d(fixture.gainB, [H, D]));
      kernel.biasB.assign(tf.tensor2d(fixture.biasB, [H, D]));
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false }));
      expectTensorsClose(out, fixture[variant], { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('galerkin / fourier: gradients', () => {
  it('d(loss)/d(q, k, v, gains, biases) match finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, w] = [rng.normalTensor([1, 2, 5, 3]), rng.normalTensor([1, 2, 5, 3]), rng.normalTensor([1, 2, 5, 3]), rng.normalTensor([1, 2, 5, 3])];
    const [ga, ba, gb, bb] = [rng.normalTensor([2, 3]), rng.normalTensor([2, 3]), rng.normalTensor([2, 3]), rng.normalTensor([2, 3])];
    for (const variant of VARIANTS) {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, g1: tf.Tensor, b1: tf.Tensor, g2: tf.Tensor, b2: tf.Tensor) =>
        tf.sum(tf.mul(galerkinAttention(variant, a, b, c, { gainA: g1, biasA: b1, gainB: g2, biasB: b2 }, 1e-5), w)) as tf.Scalar;
      expect(gradCheck(f, [q, k, v, ga, ba, gb, bb], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    }
    tf.dispose([q, k, v, w, ga, ba, gb, bb]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
