import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LMInfiniteAttention, lmInfinitePlans } from '@weft/attn-lm-infinite';

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
  /** Every allowed (query row, key) pair of the plans, counted: each must appear once. */
  const pairsOf = (Lq: number, Lk: number, offset: number, g: number, w: number) => {
    const m = new Uint8Array(Lq * Lk);
    for (const plan of lmInfinitePlans(Lq, Lk, offset, g, w))
      for (let b = 0; b < plan.nBlocks; b++)
        for (let s = 0; s < plan.bq; s++)
          for (let t = 0; t < plan.K; t++) {
            if (!plan.allowed[(b * plan.bq + s) * plan.K + t]) continue;
            const i = plan.qIdx[b * plan.bq + s];
            const j = plan.kIdx[b * plan.K + t];
            expect(m[i * Lk + j]).toBe(0);
            m[i * Lk + j] = 1;
          }
    return m;
  };

  it('the blocked plans list exactly the Λ-shaped pairs, each once', () => {
    const n = 40, g = 3, w = 7;
    const m = pairsOf(n, n, 0, g, w);
    const allowed = lambda(g, w);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect([i, j, m[i * n + j]]).toEqual([i, j, j <= i && allowed(i, j) ? 1 : 0]);
    // Keys per query are bounded by nGlobal + nLocal: O(n) pairs in total.
    for (let i = 0; i < n; i++) expect(m.subarray(i * n, (i + 1) * n).reduce((a, x) => a + x, 0)).toBeLessThanOrEqual(g + w);
  });

  it('several block widths, a decoding offset and n ≤ nLocal: still exactly the Λ pairs', () => {
    for (const [Lq, Lk, g, w] of [[70, 70, 2, 20], [5, 90, 4, 30], [50, 50, 3, 64], [33, 60, 0, 16]]) {
      const offset = Lk - Lq;
      const m = pairsOf(Lq, Lk, offset, g, w);
      const allowed = lambda(g, w);
      for (let i = 0; i < Lq; i++) for (let j = 0; j < Lk; j++) expect([Lq, i, j, m[i * Lk + j]]).toEqual([Lq, i, j, j <= i + offset && allowed(i + offset, j) ? 1 : 0]);
    }
  });

  it('n ≤ nLocal: the plans skip the keys after each block (about the causal half of the n×n scores)', () => {
    const n = 1000;
    const plans = lmInfinitePlans(n, n, 0, 100, 2048);
    const slots = plans.reduce((a, p) => a + p.nBlocks * p.bq * p.K, 0);
    const rows = plans.reduce((a, p) => a + p.nBlocks * p.bq, 0);
    expect(slots).toBeLessThan(0.6 * rows * n);
    expect(plans.every((p) => p.G === 0)).toBe(true); // every global key is inside every window
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

  it('n = 8192, nGlobal 16, nLocal 64: forward + backward make no tensor of n²/4 elements and peak far below one n×n float32 tensor', async () => {
    const L = 8192, D = 8;
    const rng = new Rng(2);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make(16, 64);
    const ctx = makeAttentionContext({ causal: true, scale: 0.25 });
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(kernel.attend(a, b, c, ctx)))([q, k, v]));
    const largest = Math.max(...info.kernels.flatMap((x) => x.outputShapes.map((shape) => shape.reduce((a, d) => a * d, 1))));
    expect(largest).toBeLessThan((L * L) / 4);
    expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
    tf.dispose([q, k, v, ...(info.result as Tensor[])]);
  });
}, ['wasm']);
