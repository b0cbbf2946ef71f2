import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { LongnetAttention } from '@weft/attn-longnet';

const make = (segmentLengths: number[], dilations: number[]) => new LongnetAttention({ segmentLengths, dilations } as never);

interface Masks {
  causal: boolean;
  keep?: number[]; // [B·L] key padding, 1 keep
  seg?: number[]; // [B·L] segment ids
}

/**
 * Naive dilated attention for ONE configuration (w, r), written here from the paper (eq. 3–5)
 * and torchscale's head split, with loops: head h keeps in-segment offsets p ≡ ⌊h / ⌈H/r⌉⌋ (mod r).
 * Returns the output [B, H, L, D] and the logsumexp [B, H, L] (-Infinity where not covered).
 */
function naiveDilated(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, H: number, L: number, D: number, scale: number, w: number, r: number, m: Masks) {
  const out = new Float64Array(B * H * L * D);
  const lse = new Float64Array(B * H * L).fill(-Infinity);
  const seg = Math.min(w, L);
  const at = (x: ArrayLike<number>, b: number, h: number, t: number, d: number) => x[((b * H + h) * L + t) * D + d];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const s = Math.floor(h / Math.ceil(H / r));
      for (let i = 0; i < L; i++) {
        const n = Math.floor(i / seg);
        if ((i - n * seg) % r !== s) continue;
        const keys: number[] = [];
        for (let j = n * seg; j < Math.min((n + 1) * seg, L); j++) {
          if ((j - n * seg) % r !== s) continue;
          if (m.causal && j > i) continue;
          if (m.keep && m.keep[b * L + j] === 0) continue;
          if (m.seg && m.seg[b * L + i] !== m.seg[b * L + j]) continue;
          keys.push(j);
        }
        if (!keys.length) continue;
        const logits = keys.map((j) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(q, b, h, i, d) * at(k, b, h, j, d);
          return dot * scale;
        });
        const mx = Math.max(...logits);
        const z = logits.reduce((a, x) => a + Math.exp(x - mx), 0);
        lse[(b * H + h) * L + i] = mx + Math.log(z);
        keys.forEach((j, t) => {
          const p = Math.exp(logits[t] - mx) / z;
          for (let d = 0; d < D; d++) out[((b * H + h) * L + i) * D + d] += p * at(v, b, h, j, d);
        });
      }
    }
  }
  return { out, lse };
}

/** Eq. (6)–(7) computed naively: per row, weights exp(lse_i) / Σ exp(lse_i') over the covering configs. */
function naiveMerge(parts: Array<{ out: Float64Array; lse: Float64Array }>, D: number): Float64Array {
  const res = new Float64Array(parts[0].out.length);
  for (let row = 0; row < parts[0].lse.length; row++) {
    const ls = parts.map((p) => p.lse[row]);
    const mx = Math.max(...ls);
    if (mx === -Infinity) continue;
    const ws = ls.map((l) => Math.exp(l - mx));
    const tot = ws.reduce((a, x) => a + x, 0);
    parts.forEach((p, c) => {
      for (let d = 0; d < D; d++) res[row * D + d] += (ws[c] / tot) * p.out[row * D + d];
    });
  }
  return res;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// w ≥ L and r = 1: LongNet is dense attention, so the exact conformance checks apply.
attentionKernelConformance('longnet (w ≥ L, r = 1)', () => make([64], [1]), { exact: true });
// A real mixture: shapes, no leaks, causality, padding.
attentionKernelConformance('longnet (w = [4, 8, 12], r = [1, 2, 4])', () => make([4, 8, 12], [1, 2, 4]), { exact: false });

describeWithBackends('longnet against naive dilated attention', () => {
  const B = 2, H = 4, L = 16, D = 4;
  const rng = new Rng(11);
  let q: Tensor, k: Tensor, v: Tensor;
  let qa: Float32Array, ka: Float32Array, va: Float32Array;
  beforeAll(() => {
    [q, k, v] = [rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D])];
    [qa, ka, va] = [q, k, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, k, v]));

  it('w = N, r = 1 equals dense attention (causal and bidirectional)', () => {
    for (const causal of [false, true]) {
      const out = make([L], [1]).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5 }));
      expectTensorsClose(out, naiveAttention(qa, ka, va, { B, H, Lq: L, Lk: L, Dh: D }, { causal, scale: 0.5, queryOffset: 0 }), { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  for (const [w, r] of [[4, 2], [8, 4], [16, 2], [6, 3], [16, 8]] as Array<[number, number]>) {
    it(`one configuration (w = ${w}, r = ${r}) equals the naive dilated reference, output and logsumexp`, () => {
      for (const causal of [false, true]) {
        const kernel = make([w], [r]);
        const ctx = makeAttentionContext({ causal, scale: 0.5 });
        const out = kernel.attend(q, k, v, ctx);
        const [[o, l]] = kernel.configs(q, k, v, ctx);
        const ref = naiveDilated(qa, ka, va, B, H, L, D, 0.5, w, r, { causal });
        expectTensorsClose(out, ref.out, { atol: 1e-5, rtol: 1e-4 });
        expectTensorsClose(o, ref.out, { atol: 1e-5, rtol: 1e-4 });
        const la = l.dataSync();
        ref.lse.forEach((x, t) => (x === -Infinity ? expect(la[t]).toBeLessThan(-1e29) : expect(Math.abs(la[t] - x)).toBeLessThan(1e-4)));
        tf.dispose([out, o, l]);
      }
    });
  }

  it('the merge equals the lse-weighted combination of the naive configurations (eq. 6–7)', () => {
    const ws = [4, 8, 16], rs = [1, 2, 4];
    for (const causal of [false, true]) {
      const out = make(ws, rs).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5 }));
      const ref = naiveMerge(ws.map((w, c) => naiveDilated(qa, ka, va, B, H, L, D, 0.5, w, rs[c], { causal })), D);
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
  });

  it('with key padding and segment ids', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 5 === 2 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 9 ? 0 : 1));
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    const ws = [4, 16], rs = [1, 2];
    for (const causal of [false, true]) {
      const out = make(ws, rs).attend(q, k, v, makeAttentionContext({ causal, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids }));
      const ref = naiveMerge(ws.map((w, c) => naiveDilated(qa, ka, va, B, H, L, D, 0.5, w, rs[c], { causal, keep, seg })), D);
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    tf.dispose([mask, ids]);
  });

  it('a last segment shorter than w, and more dilation groups than heads (H < r)', () => {
    const ws = [6, 16], rs = [1, 8];
    const out = make(ws, rs).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
    const ref = naiveMerge(ws.map((w, c) => naiveDilated(qa, ka, va, B, H, L, D, 0.5, w, rs[c], { causal: true })), D);
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    out.dispose();
  });

  it('differs from dense attention, and from one softmax over the union of the configurations’ keys', () => {
    const out = make([4, 8], [1, 2]).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }));
    const dense = naiveAttention(qa, ka, va, { B, H, Lq: L, Lk: L, Dh: D }, { scale: 0.5 });
    // Union of the two patterns' keys for each (head, row): same 4-segment, or same 8-segment & same parity class.
    const unionPerHead = [0, 1, 2, 3].map((h) => {
      const s = Math.floor(h / 2);
      const one = new Float32Array(B * L * D);
      const sub = (x: Float32Array) => {
        const y = new Float32Array(B * L * D);
        for (let b = 0; b < B; b++) for (let t = 0; t < L * D; t++) y[b * L * D + t] = x[(b * H + h) * L * D + t];
        return y;
      };
      const ref = naiveAttention(sub(qa), sub(ka), sub(va), { B, H: 1, Lq: L, Lk: L, Dh: D }, {
        scale: 0.5,
        allowed: (_b, i, j) => Math.floor(i / 4) === Math.floor(j / 4) || (Math.floor(i / 8) === Math.floor(j / 8) && i % 2 === s && j % 2 === s),
      });
      one.set(ref);
      return one;
    });
    const o = out.dataSync();
    expect(maxAbsDiff(o, dense)).toBeGreaterThan(0.05);
    let diffUnion = 0;
    for (let h = 0; h < H; h++) for (let b = 0; b < B; b++) for (let t = 0; t < L * D; t++) diffUnion = Math.max(diffUnion, Math.abs(o[(b * H + h) * L * D + t] - unionPerHead[h][b * L * D + t]));
    expect(diffUnion).toBeGreaterThan(0.01);
    out.dispose();
  });

  it('grouped kv heads: query head h reads kv head ⌊h·Hkv/H⌋', () => {
    const k1 = k.slice([0, 0, 0, 0], [B, 1, L, D]);
    const v1 = v.slice([0, 0, 0, 0], [B, 1, L, D]);
    const kRep = tf.tile(k1, [1, H, 1, 1]);
    const vRep = tf.tile(v1, [1, H, 1, 1]);
    const ws = [4, 16], rs = [1, 2];
    const out = make(ws, rs).attend(q, k1, v1, makeAttentionContext({ causal: true, scale: 0.5 }));
    const ref = naiveMerge(ws.map((w, c) => naiveDilated(qa, kRep.dataSync(), vRep.dataSync(), B, H, L, D, 0.5, w, rs[c], { causal: true })), D);
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([k1, v1, kRep, vRep, out]);
  });
});

describeWithBackends('longnet gradients', () => {
  it('match finite differences (mixture of three configurations, causal)', () => {
    const rng = new Rng(5);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 8, 3]));
    const kernel = make([2, 4, 8], [1, 2, 4]);
    const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal: true, scale: 0.5 })), r)) as tf.Scalar;
    gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    tf.dispose([q, k, v, r]);
  });
});

describeWithBackends('longnet memory', () => {
  it('L = 4096, w = [128, 256, 512], r = [1, 2, 4], H = 1, Dh = 16: the forward never holds anything near an L×L float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make([128, 256, 512], [1, 2, 4]);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.25 })));
    const out = info.result as Tensor;
    const LxL = L * L * 4; // 64 MiB
    // Scores are Σ L·w/r² = 4096·(128 + 64 + 32) floats (~3.5 MiB); everything together stays far below L×L.
    expect(info.peakBytes - before).toBeLessThan(LxL / 4);
    expect(tf.memory().numBytes - before).toBe(L * D * 4); // only the output survives
    tf.dispose([q, k, v, out]);
  });

  it('L = 8192, w = [8192, 1024], r = [1, 4], H = 1: forward + backward make no tensor of L²/4 elements and peak far below one L×L float32 tensor', async () => {
    // w = L, r = 1 is dense causal attention over the whole sequence: exactly where a naive
    // backward would keep L×L probabilities, and where recomputing one block at a time must not.
    const L = 8192, D = 8;
    const rng = new Rng(2);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make([8192, 1024], [1, 4]);
    const ctx = makeAttentionContext({ causal: true, scale: 0.25 });
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(kernel.attend(a, b, c, ctx)))([q, k, v]));
    const largest = Math.max(...info.kernels.flatMap((x) => x.outputShapes.map((shape) => shape.reduce((a, d) => a * d, 1))));
    expect(largest).toBeLessThan((L * L) / 4);
    expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
    tf.dispose([q, k, v, ...(info.result as Tensor[])]);
  });
}, ['wasm']);
