/**
 * The chunked causal form and the recurrent decoding state, against references written here:
 * the float64 loop (naive.ts) for outputs and a dense masked φ-attention (tf ops, quadratic in
 * N) for gradients.
 */
import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext } from '@weft/core/testing';
import { featureMap, HedgehogAttention, hedgehogStateBytes, HedgehogState, linearAttend } from '@weft/attn-hedgehog';
import { naiveHedgehog } from './naive.js';

/** Dense causal Hedgehog: φ head by head, A = φ(Q)φ(K)ᵀ ⊙ tril, y = A V / rowsum(A). */
function denseCausal(q: Tensor, k: Tensor, v: Tensor, W: Tensor, b: Tensor): Tensor {
  return tf.tidy(() => {
    const [, H, N, D] = q.shape as number[];
    const phi = (x: Tensor) => {
      const B = (x.shape as number[])[0];
      const heads = Array.from({ length: H }, (_, h) => {
        const xh = tf.reshape(tf.slice(x, [0, h, 0, 0], [B, 1, N, D]), [B * N, D]); // [B·N, D]
        const Wh = tf.reshape(tf.slice(W, [h, 0, 0], [1, D, D]), [D, D]);
        return tf.reshape(tf.add(tf.matMul(xh, Wh), tf.slice(b, [h, 0], [1, D])), [B, 1, N, D]); // [B, 1, N, D]
      });
      const z = tf.concat(heads, 1); // [B, H, N, D]
      return tf.concat([tf.exp(z), tf.exp(tf.neg(z))], 3); // [B, H, N, 2D]
    };
    const A = tf.mul(tf.matMul(phi(q), phi(k), false, true), tf.linalg.bandPart(tf.ones([N, N]), -1, 0)); // [B, H, N, N]
    return tf.div(tf.matMul(A, v), tf.sum(A, 3, true)); // [B, H, N, Dv]
  });
}

const B = 2, H = 2, N = 10, D = 4;
const CHUNKS = [1, 3, 4, 10, 16]; // 1 = recurrence, 3 and 4 do not divide N, 10 = N, 16 > N
const Wv = Array.from({ length: H * D * D }, (_, i) => ((i % (D * D)) % (D + 1) === 0 ? 0.8 + 0.2 * Math.sin(i) : 0.25 * Math.cos(3 * i)));
const bv = Array.from({ length: H * D }, (_, i) => 0.1 * Math.sin(5 * i));

function kernelWith(chunkSize: number, heads = H): HedgehogAttention {
  const kernel = new HedgehogAttention(heads, D, new Rng(0), chunkSize);
  tf.tidy(() => {
    kernel.W.assign(tf.tensor3d(Wv.slice(0, heads * D * D), [heads, D, D]));
    kernel.b.assign(tf.tensor2d(bv.slice(0, heads * D), [heads, D]));
  });
  return kernel;
}

describeWithBackends('hedgehog: chunked causal form', () => {
  const rng = new Rng(17);
  let q: Tensor, k: Tensor, v: Tensor, w: Tensor, W: Tensor, b: Tensor;
  beforeAll(() => {
    [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([B, H, N, D], 0, 0.6));
    W = tf.tensor3d(Wv, [H, D, D]);
    b = tf.tensor2d(bv, [H, D]);
  });
  afterAll(() => tf.dispose([q, k, v, w, W, b]));

  it('equals the float64 loop for chunk sizes 1, 3, 4, N and > N, and does not depend on the chunk size; no leaks', () => {
    const want = naiveHedgehog(q.dataSync(), k.dataSync(), v.dataSync(), Wv, bv, { B, H, N, D }, true);
    const outs = CHUNKS.map((c) => {
      const kernel = kernelWith(c);
      const before = tf.memory().numTensors;
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true }));
      expect(tf.memory().numTensors).toBe(before + 1);
      expectTensorsClose(out, want, { atol: 1e-5, rtol: 1e-4 });
      kernel.dispose();
      return out;
    });
    for (const out of outs.slice(1)) expectTensorsClose(out, outs[0], { atol: 1e-6, rtol: 1e-5 });
    tf.dispose(outs);
  });

  it('gradients with respect to q, k, v, W, b equal those of the dense masked form for every chunk size', () => {
    const loss = (out: Tensor) => tf.sum(tf.mul(out, w)) as tf.Scalar;
    const dense = tf.grads((a: Tensor, c: Tensor, d: Tensor, Wt: Tensor, bt: Tensor) => loss(denseCausal(a, c, d, Wt, bt)))([q, k, v, W, b]);
    for (const C of CHUNKS) {
      const chunked = tf.grads((a: Tensor, c: Tensor, d: Tensor, Wt: Tensor, bt: Tensor) => loss(linearAttend(featureMap(a, Wt, bt), featureMap(c, Wt, bt), d, true, C)))([q, k, v, W, b]);
      chunked.forEach((g, i) => expectTensorsClose(g, dense[i], { atol: 1e-4, rtol: 1e-3 }));
      tf.dispose(chunked);
    }
    tf.dispose(dense);
  });

  it('gradients through a non-divisor chunk size (C = 2, N = 5) match finite differences', () => {
    const r = new Rng(8);
    const [q2, k2, v2, w2] = [0, 1, 2, 3].map(() => r.normalTensor([1, 2, 5, 3], 0, 0.5));
    const W2 = tf.tidy(() => tf.add(tf.stack([tf.eye(3), tf.eye(3)]), r.normalTensor([2, 3, 3], 0, 0.2)));
    const b2 = r.normalTensor([2, 3], 0, 0.2);
    const f = (a: Tensor, c: Tensor, d: Tensor, Wt: Tensor, bt: Tensor) => tf.sum(tf.mul(linearAttend(featureMap(a, Wt, bt), featureMap(c, Wt, bt), d, true, 2), w2)) as tf.Scalar;
    expect(gradCheck(f, [q2, k2, v2, W2, b2], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([q2, k2, v2, w2, W2, b2]);
  });
});

describeWithBackends('hedgehog: decoding from the recurrent state', () => {
  const rng = new Rng(23);

  it('step-by-step decoding (4, then 3, then 1 token at a time) equals the parallel form and the loop; grouped kv heads; state size constant; no leaks', () => {
    const heads = 2, kvHeads = 1;
    const [q] = [rng.normalTensor([B, heads, N, D], 0, 0.6)];
    const [k, v] = [rng.normalTensor([B, kvHeads, N, D], 0, 0.6), rng.normalTensor([B, kvHeads, N, D], 0, 0.6)];
    const ctx = makeAttentionContext({ causal: true });
    for (const C of [1, 2, 64]) {
      const kernel = kernelWith(C, heads);
      const parallel = kernel.attend(q, k, v, ctx);
      const before = tf.memory().numTensors;
      let state = kernel.initState(B, { heads, kvHeads, headDim: D, layerIndex: 0 });
      const perLayer = 4 * B * heads * (2 * D) * (D + 1); // S [B, H, 2·Dh, Dv + 1], float32
      expect(hedgehogStateBytes(B, heads, D)).toBe(perLayer);
      expect(state.bytes()).toBe(perLayer);
      const parts: Tensor[] = [];
      const bytes: number[] = [];
      for (const [start, n] of [[0, 4], [4, 3], [7, 1], [8, 1], [9, 1]]) {
        const [qt, kt, vt] = [q, k, v].map((x) => x.slice([0, 0, start, 0], [B, -1, n, D]));
        const [o, next] = kernel.attendStep(qt, kt, vt, state, ctx);
        expect(next).toBeInstanceOf(HedgehogState);
        state = next as HedgehogState;
        parts.push(o);
        bytes.push(state.bytes());
        tf.dispose([qt, kt, vt]);
      }
      expect(bytes).toEqual(bytes.map(() => perLayer));
      expect((state as HedgehogState).tokens).toBe(N);
      const stepped = tf.concat(parts, 2);
      expectTensorsClose(stepped, parallel, { atol: 1e-5, rtol: 1e-4 });
      // The loop reference, with the single kv head repeated to both query heads.
      const rep = (x: Tensor) => tf.tidy(() => tf.concat([x, x], 1).dataSync());
      expectTensorsClose(stepped, naiveHedgehog(q.dataSync(), rep(k), rep(v), Wv, bv, { B, H: heads, N, D }, true), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([stepped, ...parts]);
      state.dispose();
      expect(tf.memory().numTensors).toBe(before);
      parallel.dispose();
      kernel.dispose();
    }
    tf.dispose([q, k, v]);
  });

  it('refuses a state from another kernel, another batch size, or a bidirectional step', () => {
    const kernel = kernelWith(4);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, 1, D]));
    const foreign = { bytes: () => 0, dispose: () => undefined };
    expect(() => kernel.attendStep(q, k, v, foreign, makeAttentionContext({ causal: true }))).toThrow(/needs the state from this kernel's initState \(a HedgehogState\)/);
    const other = kernel.initState(B + 1, { heads: H, kvHeads: H, headDim: D, layerIndex: 0 });
    expect(() => kernel.attendStep(q, k, v, other, makeAttentionContext({ causal: true }))).toThrow(/the state holds S \[3,2,8,5\].*another batch size or layer/);
    expect(() => kernel.attendStep(q, k, v, other, makeAttentionContext({ causal: false }))).toThrow(/attendStep decodes causally/);
    expect(() => kernel.initState(B, { heads: H + 1, kvHeads: 1, headDim: D, layerIndex: 0 })).toThrow(/built for 2 heads of width 4, asked for a state of 3 heads/);
    tf.dispose([q, k, v]);
    other.dispose();
    kernel.dispose();
  });
});

/**
 * Memory at the benchmark's head width (Dh = 64: F = 128, Dv + 1 = 65), N = 2048, C = 64. The
 * per-position outer products a cumulative-sum causal form accumulates, [N, F·(Dv + 1)], are
 * 68 MB; that form holds them and their cumulative sum in the forward pass, and both gradients
 * in the backward. tf.profile's peakBytes is the largest total of live tensor bytes after any op
 * inside the profiled function (backward included; nothing inside tf.grads is freed before it
 * returns). wasm only: tf.profile makes the cpu backend very slow.
 */
describeWithBackends('hedgehog: memory of the chunked causal form', () => {
  const L = 2048, Dh = 64;
  const OUTER = L * 2 * Dh * (Dh + 1); // floats in [N, F·(Dv + 1)]
  let q: Tensor, k: Tensor, v: Tensor;
  beforeAll(() => {
    const rng = new Rng(3);
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, Dh], 0, 0.3));
  });
  afterAll(() => tf.dispose([q, k, v]));

  async function measure(fn: () => Tensor[]): Promise<{ peak: number; largest: number }> {
    const base = tf.memory().numBytes;
    const info = await tf.profile(() => {
      tf.dispose(fn());
      return [] as Tensor[];
    });
    const largest = Math.max(...info.kernels.flatMap((kr) => kr.outputShapes.map((s) => (s as number[]).reduce((a, c) => a * c, 1))));
    return { peak: info.peakBytes - base, largest };
  }

  it('forward and forward + backward never hold an [N, F·Dv] tensor; forward peak < 1/3, forward + backward peak < 1 such tensor', async () => {
    const kernel = new HedgehogAttention(1, Dh, new Rng(0), 64);
    const ctx = makeAttentionContext({ causal: true });
    const fwd = await measure(() => [kernel.attend(q, k, v, ctx)]);
    expect(fwd.largest).toBeLessThan(OUTER / 8);
    expect(fwd.peak).toBeLessThan((OUTER * 4) / 3);
    const both = await measure(() => tf.grads((a: Tensor, c: Tensor, d: Tensor) => tf.sum(tf.square(kernel.attend(a, c, d, ctx))) as tf.Scalar)([q, k, v]));
    expect(both.largest).toBeLessThan(OUTER / 8);
    expect(both.peak).toBeLessThan(OUTER * 4);
    kernel.dispose();
  });

  it('control: the measurement does see the per-position outer products φ(k_j)[v_j, 1]ᵀ when they are formed', async () => {
    const { peak, largest } = await measure(() => {
      const fk = tf.concat([tf.exp(k), tf.exp(tf.neg(k))], 3); // [1, 1, N, F]
      const v1 = tf.concat([v, tf.ones([1, 1, L, 1])], 3); // [1, 1, N, Dv + 1]
      return [tf.mul(tf.reshape(fk, [L, 2 * Dh, 1]), tf.reshape(v1, [L, 1, Dh + 1]))]; // [N, F, Dv + 1]
    });
    expect(largest).toBe(OUTER);
    expect(peak).toBeGreaterThanOrEqual(OUTER * 4);
  });
}, ['wasm']);
