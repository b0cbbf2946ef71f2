import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext } from '@weft/core/testing';
import { causalLinear, LinearAttention, phi, VERSION } from '@weft/attn-linear';

const make = (chunkSize = 4) => new LinearAttention({ chunkSize, eps: 1e-6 });

attentionKernelConformance('linear', () => make(), { exact: false });

interface Fixture {
  eps: number;
  shape: [number, number, number, number];
  valueDim: number;
  q: number[]; k: number[]; v: number[];
  keyMask: number[];
  causal: number[]; finalState: number[]; finalNormaliser: number[];
  bidirectional: number[]; bidirectionalMasked: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'linear.json'), 'utf8'));

describeWithBackends('linear attention: parity with the PyTorch port (tools/parity/attn-linear.py)', () => {
  const [B, H, L, D] = fixture.shape;
  const Dv = fixture.valueDim;
  const tensors = () => [tf.tensor4d(fixture.q, [B, H, L, D]), tf.tensor4d(fixture.k, [B, H, L, D]), tf.tensor4d(fixture.v, [B, H, L, Dv])];

  it('causal output (RNN loop in PyTorch) for chunk sizes 1, 4 and 64, and the final state S, z', () => {
    const [q, k, v] = tensors();
    for (const c of [1, 4, 64]) {
      const out = make(c).attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, fixture.causal, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    const { out, S, z } = tf.tidy(() => causalLinear(phi(q), phi(k), v, 4, fixture.eps));
    expectTensorsClose(S, fixture.finalState, { atol: 1e-4, rtol: 1e-5 });
    expectTensorsClose(z, fixture.finalNormaliser, { atol: 1e-4, rtol: 1e-5 });
    tf.dispose([q, k, v, out, S, z]);
  });

  it('bidirectional output, with and without key padding', () => {
    const [q, k, v] = tensors();
    const mask = tf.tensor2d(fixture.keyMask, [B, L]);
    const plain = make().attend(q, k, v, makeAttentionContext({ causal: false }));
    const masked = make().attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }));
    expectTensorsClose(plain, fixture.bidirectional, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(masked, fixture.bidirectionalMasked, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, mask, plain, masked]);
  });
});

describeWithBackends('linear attention: gradients', () => {
  it('d(loss)/d(q, k, v) match finite differences through the chunked causal form and the bidirectional form', () => {
    const rng = new Rng(3);
    const q = rng.normalTensor([1, 2, 7, 3]);
    const k = rng.normalTensor([1, 2, 7, 3]);
    const v = rng.normalTensor([1, 2, 7, 3]);
    const w = rng.normalTensor([1, 2, 7, 3]); // random projection so every output element matters
    for (const causal of [true, false]) {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(make(3).attend(a, b, c, makeAttentionContext({ causal })), w)) as tf.Scalar;
      const { maxAbsError } = gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
      expect(maxAbsError).toBeLessThan(2e-2);
    }
    tf.dispose([q, k, v, w]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
