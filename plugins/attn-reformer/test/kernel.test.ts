import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext } from '@weft/core/testing';
import { ReformerAttention, ReversibleBlock } from '@weft/attn-reformer';

const make = (numHashes: number, numBuckets: number, bucketSize: number, seed?: number) => new ReformerAttention({ numHashes, numBuckets, bucketSize, seed });

interface NaiveOpts {
  causal: boolean;
  keep?: number[];
  seg?: number[];
}

/**
 * Naive LSH attention written here from the paper (§2) and CONVENTIONS.md with loops: shared QK
 * (keys = q/‖q‖), buckets argmax([xR, −xR]), stable sort by (bucket, position), chunks of m see
 * their own and the previous chunk (wrapping; one chunk: itself), own logit = −5e4, rounds merged
 * by softmax of their logsumexps. Returns [B, H, L, Dv] flat.
 */
function naiveLsh(q: Float32Array, v: Float32Array, R: Float32Array, B: number, H: number, L: number, D: number, nr: number, nb: number, m: number, scale: number, o: NaiveOpts): Float64Array {
  const half = nb / 2;
  const out = new Float64Array(B * H * L * D);
  const nC = L / m;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const row = (i: number) => ((b * H + h) * L + i) * D;
      const norm = (i: number) => Math.sqrt(Array.from({ length: D }, (_, d) => q[row(i) + d] ** 2).reduce((a, x) => a + x, 0)) + 1e-6;
      const perRound: Array<{ o: number[][]; lse: number[] }> = [];
      for (let r = 0; r < nr; r++) {
        const bucket = Array.from({ length: L }, (_, i) => {
          if (nb === 1) return 0;
          const rot = Array.from({ length: half }, (_, t) => Array.from({ length: D }, (_, d) => q[row(i) + d] * R[(d * nr + r) * half + t]).reduce((a, x) => a + x, 0));
          const all = [...rot, ...rot.map((x) => -x)];
          return all.indexOf(Math.max(...all));
        });
        const order = Array.from({ length: L }, (_, i) => i).sort((a, c) => bucket[a] - bucket[c] || a - c);
        const oR: number[][] = Array.from({ length: L }, () => new Array(D).fill(0));
        const lseR: number[] = new Array(L).fill(-Infinity);
        for (let s = 0; s < L; s++) {
          const i = order[s];
          const c = Math.floor(s / m);
          const slots = [...Array.from({ length: m }, (_, t) => c * m + t), ...(nC > 1 ? Array.from({ length: m }, (_, t) => ((c - 1 + nC) % nC) * m + t) : [])];
          const keys: number[] = [];
          const logits: number[] = [];
          for (const slot of slots) {
            const j = order[slot];
            if (o.causal && j > i) continue;
            if (o.keep && o.keep[b * L + j] === 0) continue;
            if (o.seg && o.seg[b * L + i] !== o.seg[b * L + j]) continue;
            keys.push(j);
            if (j === i) logits.push(-5e4);
            else logits.push((Array.from({ length: D }, (_, d) => q[row(i) + d] * q[row(j) + d]).reduce((a, x) => a + x, 0) / norm(j)) * scale);
          }
          if (!keys.length) continue;
          const mx = Math.max(...logits);
          const z = logits.reduce((a, x) => a + Math.exp(x - mx), 0);
          lseR[i] = mx + Math.log(z);
          keys.forEach((j, t) => {
            for (let d = 0; d < D; d++) oR[i][d] += (Math.exp(logits[t] - mx) / z) * v[row(j) + d];
          });
        }
        perRound.push({ o: oR, lse: lseR });
      }
      for (let i = 0; i < L; i++) {
        const ls = perRound.map((p) => p.lse[i]);
        const mx = Math.max(...ls);
        if (mx === -Infinity) continue;
        const w = ls.map((l) => Math.exp(l - mx));
        const tot = w.reduce((a, x) => a + x, 0);
        perRound.forEach((p, r) => {
          for (let d = 0; d < D; d++) out[row(i) + d] += (w[r] / tot) * p.o[i][d];
        });
      }
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Shared QK differs from q·k attention, so only the structural checks apply (shapes, no leaks, causality).
attentionKernelConformance('reformer (2 rounds, 4 buckets, chunks of 4)', () => make(2, 4, 4, 1), { exact: false });

describeWithBackends('reformer LSH attention against the naive reference', () => {
  const B = 2, H = 2, L = 16, D = 4;
  const rng = new Rng(11);
  let q: Tensor, v: Tensor;
  let qa: Float32Array, va: Float32Array;
  beforeAll(() => {
    [q, v] = [rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D])];
    [qa, va] = [q, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, v]));

  it('one bucket, ≤ 2 chunks: full shared-QK attention with the self-attention rule', () => {
    for (const causal of [false, true]) {
      for (const m of [8, 16]) {
        const R = tf.zeros([D, 1, 1]);
        const out = make(1, 1, m).attendWithRotations(q, q, v, makeAttentionContext({ causal, scale: 0.5 }), R);
        // Full attention over all (earlier) keys, keys = q/‖q‖, own logit −5e4 — written out here.
        const ref = new Float64Array(B * H * L * D);
        for (let bh = 0; bh < B * H; bh++) {
          for (let i = 0; i < L; i++) {
            const js = Array.from({ length: causal ? i + 1 : L }, (_, j) => j);
            const logits = js.map((j) => {
              if (j === i) return -5e4;
              let dot = 0, nn = 0;
              for (let d = 0; d < D; d++) {
                dot += qa[(bh * L + i) * D + d] * qa[(bh * L + j) * D + d];
                nn += qa[(bh * L + j) * D + d] ** 2;
              }
              return (dot / (Math.sqrt(nn) + 1e-6)) * 0.5;
            });
            const mx = Math.max(...logits);
            const z = logits.reduce((a, x) => a + Math.exp(x - mx), 0);
            js.forEach((j, t) => {
              for (let d = 0; d < D; d++) ref[(bh * L + i) * D + d] += (Math.exp(logits[t] - mx) / z) * va[(bh * L + j) * D + d];
            });
          }
        }
        expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
        tf.dispose([R, out]);
      }
    }
  });

  for (const [nr, nb, m] of [[1, 4, 4], [2, 4, 4], [3, 8, 2], [2, 2, 8]] as Array<[number, number, number]>) {
    it(`${nr} round(s), ${nb} buckets, chunks of ${m}: equals the naive LSH reference (explicit rotations)`, () => {
      const R = new Rng(nr * 10 + nb).normalTensor([D, nr, nb / 2]);
      const Ra = R.dataSync() as Float32Array;
      for (const causal of [false, true]) {
        const out = make(nr, nb, m).attendWithRotations(q, q, v, makeAttentionContext({ causal, scale: 0.5 }), R);
        expectTensorsClose(out, naiveLsh(qa, va, Ra, B, H, L, D, nr, nb, m, 0.5, { causal }), { atol: 1e-5, rtol: 1e-4 });
        out.dispose();
      }
      R.dispose();
    });
  }

  it('with key padding and segment ids', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 5 === 3 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 7 ? 0 : 1));
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    const R = new Rng(3).normalTensor([D, 2, 2]);
    for (const causal of [false, true]) {
      const out = make(2, 4, 4).attendWithRotations(q, q, v, makeAttentionContext({ causal, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids }), R);
      expectTensorsClose(out, naiveLsh(qa, va, R.dataSync() as Float32Array, B, H, L, D, 2, 4, 4, 0.5, { causal, keep, seg }), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    tf.dispose([mask, ids, R]);
  });

  it('many buckets differ from full shared-QK attention; a seed fixes the rotations', () => {
    const full = make(1, 1, 16).attendWithRotations(q, q, v, makeAttentionContext({ causal: false, scale: 0.5 }), tf.zeros([D, 1, 1]));
    const a = make(1, 8, 2, 5).attend(q, q, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const b = make(1, 8, 2, 5).attend(q, q, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const c = make(1, 8, 2, 6).attend(q, q, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    expect(maxAbsDiff(a.dataSync(), full.dataSync())).toBeGreaterThan(0.05);
    expectTensorsClose(a, b.dataSync(), { atol: 0, rtol: 0 });
    expect(maxAbsDiff(a.dataSync(), c.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([full, a, b, c]);
  });

  it('why causal: false: a later token’s bucket changes which earlier keys share a chunk, so earlier outputs move', () => {
    const R = new Rng(4).normalTensor([D, 1, 4]);
    const kernel = make(1, 8, 2);
    const ctx = makeAttentionContext({ causal: true, scale: 0.5 });
    const a = kernel.attendWithRotations(q, q, v, ctx, R);
    // Replace the last token's vector (keys after t = 0 .. L-2 masked for those rows anyway).
    const q2 = tf.tidy(() => tf.concat([q.slice([0, 0, 0, 0], [B, H, L - 1, D]), tf.mul(q.slice([0, 0, 0, 0], [B, H, 1, D]), -3)], 2));
    const b = kernel.attendWithRotations(q2, q2, v, ctx, R);
    const head = (t: Tensor) => t.slice([0, 0, 0, 0], [B, H, L - 1, D]).dataSync();
    expect(maxAbsDiff(head(a), head(b))).toBeGreaterThan(1e-3);
    tf.dispose([R, a, b, q2]);
  });

  it('rotations of the wrong shape are refused', () => {
    const R = tf.zeros([D, 1, 3]);
    expect(() => make(1, 4, 4).attendWithRotations(q, q, v, makeAttentionContext({ causal: false, scale: 0.5 }), R)).toThrow(/rotations have shape \[4, 1, 3\], expected \[4, 1, 2\]/);
    R.dispose();
  });
});

describeWithBackends('reformer gradients', () => {
  it('match finite differences (2 rounds, causal)', () => {
    const rng = new Rng(5);
    const [q, v, r] = [0, 1, 2].map(() => rng.normalTensor([1, 2, 8, 3]));
    const R = rng.normalTensor([3, 2, 2]);
    const kernel = make(2, 4, 4);
    const f = (a: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attendWithRotations(a, a, c, makeAttentionContext({ causal: true, scale: 0.5 }), R), r)) as tf.Scalar;
    gradCheck(f, [q, v], { eps: 1e-3, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    tf.dispose([q, v, r, R]);
  });
});

describeWithBackends('reformer memory', () => {
  it('L = 4096, chunks of 64, H = 1, Dh = 16: no L×L tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, v] = [0, 1].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make(1, 64, 64, 0);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, q, v, makeAttentionContext({ causal: true, scale: 0.25 })));
    const out = info.result as Tensor;
    expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
    expect(tf.memory().numBytes - before).toBe(L * D * 4);
    tf.dispose([q, v, out]);
  });
}, ['wasm']);

describeWithBackends('reversible residual block (§3)', () => {
  it('y1 = x1 + F(x2), y2 = x2 + G(y1) inverts exactly', () => {
    const rng = new Rng(2);
    const [x1, x2, W1, W2] = [rng.normalTensor([2, 5, 8]), rng.normalTensor([2, 5, 8]), rng.normalTensor([8, 8]), rng.normalTensor([8, 8])];
    const F = (x: Tensor) => tf.tanh(tf.matMul(tf.reshape(x, [-1, 8]), W1).reshape([2, 5, 8]));
    const G = (x: Tensor) => tf.relu(tf.matMul(tf.reshape(x, [-1, 8]), W2).reshape([2, 5, 8]));
    const block = new ReversibleBlock(F, G);
    const [y1, y2] = block.forward(x1, x2);
    expectTensorsClose(y1, tf.tidy(() => tf.add(x1, F(x2))).dataSync(), { atol: 1e-6, rtol: 1e-6 });
    expectTensorsClose(y2, tf.tidy(() => tf.add(x2, G(y1))).dataSync(), { atol: 1e-6, rtol: 1e-6 });
    const [r1, r2] = block.inverse(y1, y2);
    expectTensorsClose(r1, x1.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(r2, x2.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x1, x2, W1, W2, y1, y2, r1, r2]);
  });
});
