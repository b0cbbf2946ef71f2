import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LMInfiniteAttention, lmInfinitePlan } from '@weft/attn-lm-infinite';

const make = (nGlobal: number, nLocal: number) => new LMInfiniteAttention({ nGlobal, nLocal });

/** The Λ shape (paper §4), written here independently: the first nGlobal keys or the last nLocal ones (causal applied by naiveAttention). */
const lambda = (nGlobal: number, nLocal: number) => (p: number, j: number) => j < nGlobal || p - j < nLocal;

// exact: false — the suite's exact padding and bias checks run bidirectionally, which this
// causal-only kernel refuses; the same checks run causally below.
attentionKernelConformance('lm-infinite (nGlobal 2, nLocal 3)', () => make(2, 3), { exact: false });

describeWithBackends('lm-infinite equals dense attention under the Λ mask', () => {
  const B = 2, H = 2, L = 17, D = 4;
  const rng = new Rng(4);
  let q: Tensor, k: Tensor, v: Tensor;
  let arr: Float32Array[];
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, L, D]));
    arr = [q, k, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H, Lq: L, Lk: L, Dh: D };

  it('n ≤ nLocal: identical to vanilla dense causal attention', () => {
    for (const nLocal of [L, L + 5]) {
      const out = make(3, nLocal).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
      expectTensorsClose(out, naiveAttention(arr[0], arr[1], arr[2], dims, { causal: true, scale: 0.5 }), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  for (const [g, w] of [[2, 4], [3, 5], [0, 3], [5, 1]]) {
    it(`n > nLocal: nGlobal ${g}, nLocal ${w} equals the Λ-masked dense attention, and differs from vanilla`, () => {
      const out = make(g, w).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
      const allowed = lambda(g, w);
      expectTensorsClose(out, naiveAttention(arr[0], arr[1], arr[2], dims, { causal: true, scale: 0.5, allowed: (_b, i, j) => allowed(i, j) }), { atol: 1e-5, rtol: 1e-4 });
      const dense = naiveAttention(arr[0], arr[1], arr[2], dims, { causal: true, scale: 0.5 });
      const o = out.dataSync();
      expect(Math.max(...Array.from(o, (x, t) => Math.abs(x - dense[t])))).toBeGreaterThan(0.05);
      out.dispose();
    });
  }

  it('with key padding, segment ids, a logit bias and decoding offsets', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 6 === 4 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 11 ? 0 : 1));
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    const slope = 0.2;
    const bias = (a: { start: number; end: number }, b: { start: number; end: number }) =>
      tf.tidy(() => tf.abs(tf.sub(tf.range(a.start, a.end).reshape([-1, 1]), tf.range(b.start, b.end).reshape([1, -1]))).mul(-slope).reshape([1, 1, a.end - a.start, b.end - b.start]));
    const allowed = lambda(2, 4);
    const out = make(2, 4).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids, logitBias: bias }));
    const ref = naiveAttention(arr[0], arr[1], arr[2], dims, {
      causal: true, scale: 0.5, bias: (_b, _h, i, j) => -slope * Math.abs(i - j),
      allowed: (b, i, j) => allowed(i, j) && keep[b * L + j] === 1 && seg[b * L + i] === seg[b * L + j],
    });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    const Lq = 3;
    const qTail = q.slice([0, 0, L - Lq, 0], [B, H, Lq, D]);
    const tail = make(2, 4).attend(qTail, k, v, makeAttentionContext({ causal: true, scale: 0.5, queryOffset: L - Lq }));
    const refTail = naiveAttention(qTail.dataSync(), arr[1], arr[2], { ...dims, Lq }, { causal: true, scale: 0.5, queryOffset: L - Lq, allowed: (_b, i, j) => allowed(i + L - Lq, j) });
    expectTensorsClose(tail, refTail, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([mask, ids, out, qTail, tail]);
  });
});

describe('lm-infinite mask shape', () => {
  it('the blocked plan lists exactly the Λ-shaped pairs, each once', () => {
    const n = 40, g = 3, w = 7;
    const plan = lmInfinitePlan(n, n, 0, g, w);
    const m = new Uint8Array(n * n);
    for (let b = 0; b < plan.nBlocks; b++)
      for (let s = 0; s < plan.bq; s++)
        for (let t = 0; t < plan.K; t++) {
          if (!plan.allowed[(b * plan.bq + s) * plan.K + t]) continue;
          const i = plan.qIdx[b * plan.bq + s];
          const j = plan.kIdx[b * plan.K + t];
          expect(m[i * n + j]).toBe(0);
          m[i * n + j] = 1;
        }
    const allowed = lambda(g, w);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect([i, j, m[i * n + j]]).toEqual([i, j, j <= i && allowed(i, j) ? 1 : 0]);
    // Keys per query are bounded by nGlobal + nLocal: O(n) pairs in total.
    for (let i = 0; i < n; i++) expect(m.subarray(i * n, (i + 1) * n).reduce((a, x) => a + x, 0)).toBeLessThanOrEqual(g + w);
  });
});

describeWithBackends('lm-infinite gradients', () => {
  it('match finite differences', () => {
    const rng = new Rng(9);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 9, 3]));
    const kernel = make(2, 3);
    const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal: true, scale: 0.5 })), r)) as tf.Scalar;
    gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    tf.dispose([q, k, v, r]);
  });
});

describeWithBackends('lm-infinite memory', () => {
  it('n = 4096, nGlobal 16, nLocal 128, Dh 16: the forward stays far below one n×n float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => make(16, 128).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.25 })));
    expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
    tf.dispose([q, k, v, info.result as Tensor]);
  });
}, ['wasm']);
