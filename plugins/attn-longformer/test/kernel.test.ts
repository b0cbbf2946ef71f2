import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LongformerAttention } from '@weft/attn-longformer';

const make = (window: number, globalTokens: number[] = [], dilation: number | number[] = 1) => new LongformerAttention({ window, globalTokens, dilation: dilation as never });

/**
 * The Longformer pattern, written here from the paper (§3.1) independently of the plugin:
 * window |i - j| ≤ w·d with (i - j) divisible by d, or i global, or j global. `p` is the
 * query's key-aligned position.
 */
function pattern(w: number, d: number, globals: number[]) {
  const G = new Set(globals);
  return (p: number, j: number) => (Math.abs(p - j) <= w * d && (p - j) % d === 0) || G.has(p) || G.has(j);
}

/** One head of a [B, H, L, D] array as a [B, 1, L, D] array. */
function headOf(x: ArrayLike<number>, B: number, H: number, L: number, D: number, h: number): Float32Array {
  const out = new Float32Array(B * L * D);
  for (let b = 0; b < B; b++) for (let t = 0; t < L * D; t++) out[b * L * D + t] = x[(b * H + h) * L * D + t];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Window ≥ L: Longformer is dense attention, so the exact conformance checks apply
// (including key padding and the logit bias).
attentionKernelConformance('longformer (window ≥ L)', () => make(64), { exact: true });
// A narrow window with a global token: shapes, no leaks, causality.
attentionKernelConformance('longformer (w = 2, global [0])', () => make(2, [0]), { exact: false });

describeWithBackends('longformer equals dense attention under the band + global mask', () => {
  const B = 2, H = 2, L = 13, D = 4;
  const rng = new Rng(11);
  let q: Tensor, k: Tensor, v: Tensor;
  let qa: Float32Array, ka: Float32Array, va: Float32Array;
  beforeAll(() => {
    [q, k, v] = [rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D])];
    [qa, ka, va] = [q, k, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H, Lq: L, Lk: L, Dh: D };

  for (const causal of [false, true]) {
    for (const [w, G] of [[2, [0]], [3, [0, 7]], [1, []], [4, [12, 5]]] as Array<[number, number[]]>) {
      it(`${causal ? 'causal' : 'bidirectional'}, L = ${L}, w = ${w}, global [${G}]`, () => {
        const out = make(w, G).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5 }));
        const allowed = pattern(w, 1, G);
        const ref = naiveAttention(qa, ka, va, dims, { causal, scale: 0.5, queryOffset: 0, allowed: (_b, i, j) => allowed(i, j) });
        expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
        out.dispose();
      });
    }
  }

  it('with key padding and segment ids (packed sequences)', () => {
    const keep = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    const seg = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2];
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    const allowed = pattern(2, 1, [0, 8]);
    for (const causal of [false, true]) {
      const out = make(2, [0, 8]).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids }));
      const ref = naiveAttention(qa, ka, va, dims, {
        causal, scale: 0.5, queryOffset: 0,
        allowed: (b, i, j) => allowed(i, j) && keep[b * L + j] === 1 && seg[b * L + i] === seg[b * L + j],
      });
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    tf.dispose([mask, ids]);
  });

  it('per-head dilation [1, 3]: each head equals dense attention under its dilated band', () => {
    for (const causal of [false, true]) {
      const out = make(2, [4], [1, 3]).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5 }));
      const o = out.dataSync();
      [1, 3].forEach((d, h) => {
        const allowed = pattern(2, d, [4]);
        const ref = naiveAttention(headOf(qa, B, H, L, D, h), headOf(ka, B, H, L, D, h), headOf(va, B, H, L, D, h), { ...dims, H: 1 }, { causal, scale: 0.5, queryOffset: 0, allowed: (_b, i, j) => allowed(i, j) });
        expectTensorsClose(headOf(o, B, H, L, D, h), ref, { atol: 1e-5, rtol: 1e-4 });
      });
      out.dispose();
    }
  });

  it('logit bias (asked tile by tile) is added before the softmax, dilated heads included', () => {
    const slope = 0.3;
    const bias = (a: { start: number; end: number }, b: { start: number; end: number }) =>
      tf.tidy(() => tf.abs(tf.sub(tf.range(a.start, a.end).reshape([-1, 1]), tf.range(b.start, b.end).reshape([1, -1]))).mul(-slope).reshape([1, 1, a.end - a.start, b.end - b.start]));
    const out = make(2, [0], 2).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5, logitBias: bias }));
    const allowed = pattern(2, 2, [0]);
    const ref = naiveAttention(qa, ka, va, dims, { scale: 0.5, allowed: (_b, i, j) => allowed(i, j), bias: (_b, _h, i, j) => -slope * Math.abs(i - j) });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    out.dispose();
  });

  it('decoding: the last Lq queries against Lk cached keys (queryOffset = Lk - Lq)', () => {
    const Lq = 3;
    const qTail = q.slice([0, 0, L - Lq, 0], [B, H, Lq, D]);
    const out = make(3, [0, 11]).attend(qTail, k, v, makeAttentionContext({ causal: true, scale: 0.5, queryOffset: L - Lq }));
    const allowed = pattern(3, 1, [0, 11]);
    const ref = naiveAttention(qTail.dataSync(), ka, va, { B, H, Lq, Lk: L, Dh: D }, { causal: true, scale: 0.5, queryOffset: L - Lq, allowed: (_b, i, j) => allowed(i + L - Lq, j) });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([qTail, out]);
  });

  it('window ≥ L is dense attention; a narrow window (L > 2w + 1) is not', () => {
    const wide = make(L).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const narrow = make(2).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const dense = naiveAttention(qa, ka, va, dims, { scale: 0.5 });
    expectTensorsClose(wide, dense, { atol: 1e-5, rtol: 1e-4 });
    expect(maxAbsDiff(narrow.dataSync(), dense)).toBeGreaterThan(0.05);
    tf.dispose([wide, narrow]);
  });

  it('grouped kv heads: query head h reads kv head ⌊h·Hkv/H⌋', () => {
    const k1 = k.slice([0, 0, 0, 0], [B, 1, L, D]);
    const v1 = v.slice([0, 0, 0, 0], [B, 1, L, D]);
    const out = make(2, [3]).attend(q, k1, v1, makeAttentionContext({ causal: true, scale: 0.5 }));
    const allowed = pattern(2, 1, [3]);
    const ref = naiveAttention(qa, k1.dataSync(), v1.dataSync(), { ...dims, Hkv: 1 }, { causal: true, scale: 0.5, queryOffset: 0, allowed: (_b, i, j) => allowed(i, j) });
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([k1, v1, out]);
  });
});

describeWithBackends('longformer gradients', () => {
  const B = 1, H = 2, L = 9, D = 3;
  /** Dense masked attention in plain tfjs ops, the mask built here from the pattern. */
  function denseMasked(q: Tensor, k: Tensor, v: Tensor, causal: boolean, allowed: (i: number, j: number) => boolean): Tensor {
    const m = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) m[i * L + j] = allowed(i, j) && (!causal || j <= i) ? 0 : -1e9;
    const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), 0.5), tf.tensor2d(m, [L, L]));
    return tf.matMul(tf.softmax(logits), v);
  }

  it('equal the gradients of dense masked attention, and finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([B, H, L, D]));
    for (const causal of [false, true]) {
      const kernel = make(2, [0, 5], [1, 2]);
      const allowedByHead = [pattern(2, 1, [0, 5]), pattern(2, 2, [0, 5])];
      const sparse = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal, scale: 0.5 })), r)) as tf.Scalar;
      const dense = (a: Tensor, b: Tensor, c: Tensor) => {
        const heads = [0, 1].map((h) => {
          const s = (t: Tensor) => t.slice([0, h, 0, 0], [B, 1, L, D]);
          return denseMasked(s(a), s(b), s(c), causal, allowedByHead[h]);
        });
        return tf.sum(tf.mul(tf.concat(heads, 1), r)) as tf.Scalar;
      };
      const gs = tf.grads(sparse)([q, k, v]);
      const gd = tf.grads(dense)([q, k, v]);
      gs.forEach((g, i) => expectTensorsClose(g, gd[i], { atol: 1e-5, rtol: 1e-4 }));
      tf.dispose([...gs, ...gd]);
      gradCheck(sparse, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    }
    tf.dispose([q, k, v, r]);
  });
});

describeWithBackends('longformer memory', () => {
  it('L = 4096, w = 64, H = 1, Dh = 16: the forward never holds anything near an L×L float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make(64, [0]);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.25 })));
    const out = info.result as Tensor;
    const LxL = L * L * 4; // 64 MiB
    // Scores are L × (bq + 2w + |G|) = 4096 × 193 floats (~3 MiB); everything together stays far below L×L.
    expect(info.peakBytes - before).toBeLessThan(LxL / 4);
    expect(Math.max(...info.kernels.map((kk) => kk.totalBytesSnapshot)) - before).toBeLessThan(LxL / 4);
    expect(tf.memory().numBytes - before).toBe(L * D * 4); // only the output survives
    tf.dispose([q, k, v, out]);
  });
}, ['wasm']);
