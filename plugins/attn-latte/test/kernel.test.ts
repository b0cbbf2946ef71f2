import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LatteAttention, latteBidirectional, latteCausal, LatteState, VERSION } from '@weft/attn-latte';
import { naiveLatte } from './naive.js';

const make = (latents?: number, H = 2, D = 8, chunkSize = 64) => new LatteAttention(H, D, latents, new Rng(0), chunkSize);
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

attentionKernelConformance('latte', () => make(), { exact: false });
attentionKernelConformance('latte (latents = 5)', () => make(5), { exact: false });

describeWithBackends('latte vs the formula written naively', () => {
  const B = 2, H = 2, N = 9, D = 4;
  const rng = new Rng(23);
  let q: Tensor, k: Tensor, v: Tensor;
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, N, D], 0, 1.5));
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'bidirectional'}, L = head width (q, k are the latent logits): equals the loop reference; ignores the softmax scale`, () => {
      const out = make(undefined, H, D).attend(q, k, v, makeAttentionContext({ causal, scale: 0.3 }));
      expectTensorsClose(out, naiveLatte(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, N, L: D, Dv: D }, causal), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    });
  }

  it('with latents = 6: the latent logits are q W_q, k W_k per head', () => {
    const kernel = make(6, H, D);
    expect(kernel.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['Wq', [H, D, 6]], ['Wk', [H, D, 6]]]);
    const proj = (x: ArrayLike<number>, W: ArrayLike<number>) => {
      const out = new Float64Array(B * H * N * 6);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let n = 0; n < N; n++)
            for (let l = 0; l < 6; l++)
              for (let d = 0; d < D; d++) out[((b * H + h) * N + n) * 6 + l] += x[((b * H + h) * N + n) * D + d] * W[(h * D + d) * 6 + l];
      return out;
    };
    const [ql, kl] = [proj(q.dataSync(), kernel.Wq!.dataSync()), proj(k.dataSync(), kernel.Wk!.dataSync())];
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
    expectTensorsClose(out, naiveLatte(ql, kl, v.dataSync(), { B, H, N, L: 6, Dv: D }, true), { atol: 1e-5, rtol: 1e-4 });
    out.dispose();
    kernel.dispose();
  });

  it('probabilities are normalised: a constant value row comes out unchanged (Σ_l p(l|t) Σ_s p(s|l) = 1), causal and bidirectional', () => {
    const c = tf.tidy(() => tf.mul(tf.ones([B, H, N, D]), tf.reshape(tf.tensor1d([0.5, -2, 3, 7]), [1, 1, 1, D])));
    for (const causal of [false, true]) {
      const out = make(3, H, D).attend(q, k, c, makeAttentionContext({ causal }));
      expectTensorsClose(out, c.dataSync(), { atol: 1e-5, rtol: 1e-5 });
      out.dispose();
    }
    c.dispose();
  });

  it('recurrent == parallel: attendStep from initState, fed 4 tokens, then 3, then one at a time, equals the causal attend', () => {
    const kernel = make(5, H, D);
    const full = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
    let state = kernel.initState(B, { heads: H, kvHeads: H, headDim: D, layerIndex: 0 });
    const parts: Tensor[] = [];
    const bytes: number[] = [];
    for (const [s, n] of [[0, 4], [4, 3], [7, 1], [8, 1]]) {
      const sl = (x: Tensor) => x.slice([0, 0, s, 0], [B, H, n, D]);
      const [qs, ks, vs] = [sl(q), sl(k), sl(v)];
      const [o, next] = kernel.attendStep(qs, ks, vs, state, makeAttentionContext({ causal: true, queryOffset: s }));
      parts.push(o);
      state = next as LatteState;
      bytes.push(state.bytes());
      tf.dispose([qs, ks, vs]);
    }
    const stepped = tf.concat(parts, 2);
    expectTensorsClose(stepped, full.dataSync(), { atol: 1e-5, rtol: 1e-4 });
    expect(bytes).toEqual(bytes.map(() => 4 * B * H * (5 + 5 * D + 5))); // m, α, β: constant in the number of tokens
    expect(state.tokens).toBe(N);
    state.dispose();
    tf.dispose([full, stepped, ...parts]);
    kernel.dispose();
  });

  it('chunked causal form (C = 1, 2, 4) == one chunk == the loop reference', () => {
    const ref = naiveLatte(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, N, L: D, Dv: D }, true);
    for (const C of [1, 2, 4, 64]) {
      const out = make(undefined, H, D, C).attend(q, k, v, makeAttentionContext({ causal: true }));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('carrying the max between chunks keeps large, drifting latent logits finite and exact (C = 1; one chunk would underflow)', () => {
    const drift = tf.tidy(() => tf.add(k, tf.reshape(tf.mul(tf.range(0, N), 30), [1, 1, N, 1]))); // logits grow by 30 per position
    const ref = naiveLatte(q.dataSync(), drift.dataSync(), v.dataSync(), { B, H, N, L: D, Dv: D }, true);
    const out = make(undefined, H, D, 1).attend(q, drift, v, makeAttentionContext({ causal: true }));
    expectTensorsClose(out, ref, { atol: 1e-4, rtol: 1e-4 });
    const one = make(undefined, H, D, 64).attend(q, drift, v, makeAttentionContext({ causal: true }));
    expect(Array.from(one.dataSync()).every(Number.isFinite)).toBe(false); // the documented limit of a single chunk
    tf.dispose([drift, out, one]);
  });

  it('differs from softmax attention on random inputs', () => {
    const out = make(undefined, H, D).attend(q, k, v, makeAttentionContext({ causal: false }));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: N, Lk: N, Dh: D }, { causal: false, scale: 1 / Math.sqrt(D) });
    expect(maxAbs(out.dataSync(), soft)).toBeGreaterThan(0.05);
    out.dispose();
  });

  it('refuses key padding and a foreign state, saying what to do', () => {
    const mask = tf.ones([B, N]);
    expect(() => make(undefined, H, D).attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
    const foreign = { bytes: () => 0, dispose: () => undefined };
    expect(() => make(undefined, H, D).attendStep(q, k, v, foreign, makeAttentionContext({ causal: true }))).toThrow(/needs the state from this kernel's initState.*model\.initCache/);
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'latte.json'), 'utf8'));

describeWithBackends('latte: parity with the PyTorch port (tools/parity/attn-latte.py)', () => {
  it('bidirectional and causal (recurrence in float64), with latent projections', () => {
    const [B, H, N, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, N, D]), tf.tensor4d(fixture.k, [B, H, N, D]), tf.tensor4d(fixture.v, [B, H, N, D])];
    const kernel = make(fixture.latents, H, D);
    kernel.Wq!.assign(tf.tensor3d(fixture.Wq, [H, D, fixture.latents]));
    kernel.Wk!.assign(tf.tensor3d(fixture.Wk, [H, D, fixture.latents]));
    for (const causal of [false, true]) {
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal }));
      expectTensorsClose(out, fixture[causal ? 'causal' : 'bidirectional'], { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    kernel.dispose();
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('latte: gradients', () => {
  it('d(loss)/d(latent logits, v) match finite differences, causal (cumsum, running max) and bidirectional', () => {
    const rng = new Rng(5);
    const [ql, kl, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 5, 3]));
    const fc = (a: Tensor, b: Tensor, c: Tensor) => tf.tidy(() => tf.sum(tf.mul(latteCausal(a, b, c).out, w)) as tf.Scalar);
    const fb = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(latteBidirectional(a, b, c), w)) as tf.Scalar;
    expect(gradCheck(fc, [ql, kl, v], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    expect(gradCheck(fb, [ql, kl, v], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([ql, kl, v, w]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
