import { createRegistry, definePlugin, positional, Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectNoLeaks, expectTensorsClose, gradCheck, makeAttentionContext } from '@weft/core/testing';
import { buildModel, CausalLM, standard } from '@weft/nn';
import rope, { inverseFrequencies, RotaryEncoding, type RotaryLayout } from '@weft/pos-rope';
import lmInfinite, { LMInfiniteAttention } from '@weft/attn-lm-infinite';

const BASE = 100;

/**
 * RoPE written out by hand (RoFormer eq. 34): pair (a, b) of frequency θ_i = base^(−2i/d) at
 * position m turns into (a cos mθ_i − b sin mθ_i, a sin mθ_i + b cos mθ_i). Interleaved pairs
 * are dims (2i, 2i+1); half-split pairs are (i, i + d/2). Positions are divided by `scale`.
 */
function rotateByHand(x: ArrayLike<number>, m: number, layout: RotaryLayout, scale = 1): number[] {
  const d = x.length;
  const out = Array.from(x);
  for (let i = 0; i < d / 2; i++) {
    const angle = (m / scale) * Math.pow(BASE, (-2 * i) / d);
    const [ia, ib] = layout === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + d / 2];
    out[ia] = x[ia] * Math.cos(angle) - x[ib] * Math.sin(angle);
    out[ib] = x[ia] * Math.sin(angle) + x[ib] * Math.cos(angle);
  }
  return out;
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, t) => s + x * b[t], 0);

interface Dims { B: number; H: number; Hkv: number; Lq: number; Lk: number; D: number; Dv: number }

/**
 * The paper's attention, by loops, from UNROTATED q [B,H,Lq,D], k [B,Hkv,Lk,D], v [B,Hkv,Lk,Dv]:
 * query row i sits at position p = i + offset; Λ mask (j ≤ p and (j < nGlobal or p − j < nLocal));
 * logit = scale · RoPE score at distance min(p − j, nLocal) — computed with the key at its own
 * position j and the query at j + distance. `clamp: false` gives the true distance instead.
 * Returns [B, H, Lq, Dv] flat.
 */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, d: Dims, o: { nGlobal: number; nLocal: number; offset: number; scale: number; layout: RotaryLayout; posScale?: number; clamp: boolean; keep?: (b: number, p: number, j: number) => boolean }): Float64Array {
  const out = new Float64Array(d.B * d.H * d.Lq * d.Dv);
  const row = (t: Float32Array, base: number, w: number) => Array.from(t.subarray(base, base + w));
  for (let b = 0; b < d.B; b++)
    for (let h = 0; h < d.H; h++) {
      const g = Math.floor(h / (d.H / d.Hkv));
      for (let i = 0; i < d.Lq; i++) {
        const p = i + o.offset;
        const qi = row(q, ((b * d.H + h) * d.Lq + i) * d.D, d.D);
        const logits: number[] = [];
        const keys: number[] = [];
        for (let j = 0; j <= Math.min(p, d.Lk - 1); j++) {
          if (!(j < o.nGlobal || p - j < o.nLocal) || (o.keep && !o.keep(b, p, j))) continue;
          const dist = o.clamp ? Math.min(p - j, o.nLocal) : p - j;
          const kj = row(k, ((b * d.Hkv + g) * d.Lk + j) * d.D, d.D);
          logits.push(o.scale * dot(rotateByHand(qi, j + dist, o.layout, o.posScale), rotateByHand(kj, j, o.layout, o.posScale)));
          keys.push(j);
        }
        const mx = Math.max(...logits);
        const w = logits.map((x) => Math.exp(x - mx));
        const z = w.reduce((a, x) => a + x, 0);
        for (let t = 0; t < keys.length; t++)
          for (let e = 0; e < d.Dv; e++) out[((b * d.H + h) * d.Lq + i) * d.Dv + e] += (w[t] / z) * v[((b * d.Hkv + g) * d.Lk + keys[t]) * d.Dv + e];
      }
    }
  return out;
}

/** Rotates every row of x [B, Hx, L, D] by hand at positions start .. start + L − 1. */
function rotateTensorByHand(x: Float32Array, shape: number[], start: number, layout: RotaryLayout, posScale?: number): Tensor {
  const [B, Hx, L, D] = shape;
  const out = new Float32Array(x.length);
  for (let r = 0; r < B * Hx * L; r++) out.set(rotateByHand(x.subarray(r * D, (r + 1) * D), start + (r % L), layout, posScale), r * D);
  return tf.tensor4d(out, shape as [number, number, number, number]);
}

const encoding = (D: number, layout: RotaryLayout, positionScale = 1) =>
  new RotaryEncoding({ headDim: D, rotaryDim: D, layout, invFreq: inverseFrequencies(D, BASE), positionScale });

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, t) => Math.abs(x - b[t])));

describeWithBackends('lm-infinite distance limit (rotary): kernel against a hand-rotated reference', () => {
  const d: Dims = { B: 2, H: 4, Hkv: 2, Lq: 19, Lk: 19, D: 8, Dv: 8 };
  const rng = new Rng(11);
  const [q, k, v] = [
    rng.normalTensor([d.B, d.H, d.Lq, d.D]),
    rng.normalTensor([d.B, d.Hkv, d.Lk, d.D]),
    rng.normalTensor([d.B, d.Hkv, d.Lk, d.Dv]),
  ].map((t) => {
    const a = t.dataSync() as Float32Array;
    t.dispose();
    return a;
  });
  const scale = 1 / Math.sqrt(d.D);

  for (const [layout, posScale] of [['interleaved', 1], ['half-split', 2]] as Array<[RotaryLayout, number]>) {
    it(`${layout}, position scale ${posScale}: n ≤ nLocal is vanilla rope attention; n > nLocal clamps far keys at distance nLocal`, () => {
      const qr = rotateTensorByHand(q, [d.B, d.H, d.Lq, d.D], 0, layout, posScale);
      const kr = rotateTensorByHand(k, [d.B, d.Hkv, d.Lk, d.D], 0, layout, posScale);
      const vt = tf.tensor4d(v, [d.B, d.Hkv, d.Lk, d.Dv]);
      const rot = encoding(d.D, layout, posScale);
      const ctx = makeAttentionContext({ causal: true, scale });
      // n ≤ nLocal: the same as without the limit, and as plain causal rope attention.
      const nearOut = new LMInfiniteAttention({ nGlobal: 3, nLocal: d.Lk }, rot).attend(qr, kr, vt, ctx);
      const plain = new LMInfiniteAttention({ nGlobal: 3, nLocal: d.Lk }).attend(qr, kr, vt, ctx);
      expect(maxDiff(nearOut.dataSync(), plain.dataSync())).toBe(0);
      expectTensorsClose(nearOut, reference(q, k, v, d, { nGlobal: 3, nLocal: d.Lk, offset: 0, scale, layout, posScale, clamp: true }), { atol: 1e-5, rtol: 1e-4 });
      // n > nLocal: far global keys at distance nLocal; not the true-distance result.
      for (const [g, w] of [[3, 5], [1, 2], [6, 4]]) {
        const out = new LMInfiniteAttention({ nGlobal: g, nLocal: w }, rot).attend(qr, kr, vt, ctx);
        const clamped = reference(q, k, v, d, { nGlobal: g, nLocal: w, offset: 0, scale, layout, posScale, clamp: true });
        expectTensorsClose(out, clamped, { atol: 1e-5, rtol: 1e-4 });
        const trueDistance = reference(q, k, v, d, { nGlobal: g, nLocal: w, offset: 0, scale, layout, posScale, clamp: false });
        expect(maxDiff(clamped, trueDistance)).toBeGreaterThan(0.05);
        out.dispose();
      }
      tf.dispose([qr, kr, vt, nearOut, plain]);
    });
  }

  it('each far score equals the rope score at distance nLocal (one-hot values read the softmax weights)', () => {
    const L = 12, D = 4, nGlobal = 2, nLocal = 3;
    const dd: Dims = { B: 1, H: 1, Hkv: 1, Lq: L, Lk: L, D, Dv: L };
    const qa = q.subarray(0, L * D), ka = k.subarray(0, L * D);
    const eye = Float32Array.from({ length: L * L }, (_, t) => (Math.floor(t / L) === t % L ? 1 : 0)); // v_j = e_j
    const qr = rotateTensorByHand(qa, [1, 1, L, D], 0, 'interleaved');
    const kr = rotateTensorByHand(ka, [1, 1, L, D], 0, 'interleaved');
    const vt = tf.tensor4d(eye, [1, 1, L, L]);
    const weights = new LMInfiniteAttention({ nGlobal, nLocal }, encoding(D, 'interleaved')).attend(qr, kr, vt, makeAttentionContext({ causal: true, scale: 1 })).dataSync();
    // Log-weight differences are logit differences: far key j vs the query's own key p.
    for (const p of [6, 9, 11])
      for (let j = 0; j < nGlobal; j++) {
        const qp = Array.from(qa.subarray(p * D, (p + 1) * D));
        const kj = Array.from(ka.subarray(j * D, (j + 1) * D));
        const kp = Array.from(ka.subarray(p * D, (p + 1) * D));
        const atLimit = dot(rotateByHand(qp, 100 + nLocal, 'interleaved'), rotateByHand(kj, 100, 'interleaved')); // distance nLocal, anywhere
        const self = dot(qp, kp); // distance 0
        expect(Math.log(weights[p * L + j]) - Math.log(weights[p * L + p])).toBeCloseTo(atLimit - self, 4);
      }
    expectTensorsClose(Float32Array.from(weights), reference(qa, ka, eye, dd, { nGlobal, nLocal, offset: 0, scale: 1, layout: 'interleaved', clamp: true }), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([qr, kr, vt]);
  });

  it('with padding, segment ids and decoding (queryOffset, positions from the cache)', () => {
    const layout: RotaryLayout = 'interleaved';
    const Lq = 4, offset = d.Lk - Lq;
    const qt = new Float32Array(d.B * d.H * Lq * d.D); // the last Lq query rows of every head
    for (let r = 0; r < d.B * d.H; r++) qt.set(q.subarray((r * d.Lq + offset) * d.D, (r * d.Lq + d.Lq) * d.D), r * Lq * d.D);
    const qr = rotateTensorByHand(qt, [d.B, d.H, Lq, d.D], offset, layout);
    const kr = rotateTensorByHand(k, [d.B, d.Hkv, d.Lk, d.D], 0, layout);
    const vt = tf.tensor4d(v, [d.B, d.Hkv, d.Lk, d.Dv]);
    const keyPos = tf.tensor2d(Array.from({ length: d.B * d.Lk }, (_, t) => t % d.Lk), [d.B, d.Lk], 'int32');
    const qPos = tf.tensor2d(Array.from({ length: d.B * Lq }, (_, t) => offset + (t % Lq)), [d.B, Lq], 'int32');
    const out = new LMInfiniteAttention({ nGlobal: 3, nLocal: 5 }, encoding(d.D, layout)).attend(qr, kr, vt, makeAttentionContext({ causal: true, scale, queryOffset: offset, queryPositions: qPos, keyPositions: keyPos }));
    expectTensorsClose(out, reference(qt, k, v, { ...d, Lq }, { nGlobal: 3, nLocal: 5, offset, scale, layout, clamp: true }), { atol: 1e-5, rtol: 1e-4 });
    // Padding the first global key out: the kernel must drop it from the clamped branch too.
    const keep = tf.tensor2d(Array.from({ length: d.B * d.Lk }, (_, t) => (t % d.Lk === 0 ? 0 : 1)), [d.B, d.Lk]);
    const ids = tf.tensor2d(Array.from({ length: d.B * d.Lk }, (_, t) => (t % d.Lk === 1 ? 1 : 0)), [d.B, d.Lk], 'int32'); // key 1 in its own segment
    const qIds = tf.zeros([d.B, Lq], 'int32');
    const masked = new LMInfiniteAttention({ nGlobal: 3, nLocal: 5 }, encoding(d.D, layout)).attend(qr, kr, vt, makeAttentionContext({ causal: true, scale, queryOffset: offset, keyPaddingMask: keep, querySegmentIds: qIds, keySegmentIds: ids }));
    // Key 0 padded out and key 1 in another segment: both gone from both branches.
    const refMasked = reference(qt, k, v, { ...d, Lq }, { nGlobal: 3, nLocal: 5, offset, scale, layout, clamp: true, keep: (_b, _p, j) => j > 1 });
    expectTensorsClose(masked, refMasked, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([qr, kr, vt, keyPos, qPos, out, keep, ids, qIds, masked]);
  });
});

attentionKernelConformance('lm-infinite with the rotary distance limit (nGlobal 2, nLocal 3)', () => new LMInfiniteAttention({ nGlobal: 2, nLocal: 3 }, encoding(8, 'interleaved')), { exact: false });

describeWithBackends('lm-infinite distance limit: gradients', () => {
  it('match finite differences through the clamped branch', () => {
    const rng = new Rng(3);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 1, 9, 4]));
    const kernel = new LMInfiniteAttention({ nGlobal: 2, nLocal: 3 }, encoding(4, 'interleaved'));
    const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal: true, scale: 0.5 })), r)) as tf.Scalar;
    gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    tf.dispose([q, k, v, r]);
  });
});

// Whole models: wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('lm-infinite distance limit in a rope model', () => {
  const registry = createRegistry().use(standard, rope, lmInfinite);
  const config = (attention: object) => ({ vocab: 16, dModel: 16, layers: 2, heads: 2, maxLen: 32, seed: 4, positional: { kind: 'rope' }, attention });
  const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6, 2, 3]];

  it('n ≤ nLocal: identical to dense rope attention; n > nLocal: differs from true distances, and step == forward', () => {
    const ids = tf.tensor2d(seq, [1, 16], 'int32');
    const clamped = buildModel(registry, config({ kind: 'lm-infinite', nGlobal: 2, nLocal: 4 })) as CausalLM;
    const unclamped = buildModel(registry, config({ kind: 'lm-infinite', nGlobal: 2, nLocal: 4, distanceLimit: false })) as CausalLM;
    const wide = buildModel(registry, config({ kind: 'lm-infinite', nGlobal: 2, nLocal: 16 })) as CausalLM;
    const dense = buildModel(registry, config({ kind: 'dense' })) as CausalLM;
    // Initial weights (std 0.02) give nearly uniform attention; sharpen them so distances matter.
    for (const m of [clamped, unclamped, wide, dense]) for (const p of m.parameters()) p.assign(tf.tidy(() => tf.mul(p, 8)));
    const [a, b, c, e] = [clamped, unclamped, wide, dense].map((m) => m.forward(ids));
    expectTensorsClose(c, e.dataSync(), { atol: 1e-5, rtol: 1e-4 });
    // Rows p < nLocal see no far key: equal there; rows with far global keys differ.
    const rows = (t: Tensor, from: number, to: number) => t.slice([0, from, 0], [1, to - from, 16]);
    const [a0, b0, a1, b1] = [rows(a, 0, 4), rows(b, 0, 4), rows(a, 6, 16), rows(b, 6, 16)];
    expectTensorsClose(a0, b0.dataSync(), { atol: 1e-6, rtol: 1e-6 });
    expect(maxDiff(a1.dataSync(), b1.dataSync())).toBeGreaterThan(1e-2);
    // Cached decoding applies the same limit.
    const cache = clamped.initCache(1);
    const parts: Tensor[] = [];
    for (const [start, n] of [[0, 5], [5, 2], ...Array.from({ length: 9 }, (_, t) => [7 + t, 1])]) {
      const chunk = ids.slice([0, start], [1, n]);
      parts.push(clamped.step(chunk, cache));
      chunk.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, a.dataSync(), { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, a, b, c, e, a0, b0, a1, b1, stepped, ...parts]);
    [clamped, unclamped, wide, dense].forEach((m) => m.dispose());
  });

  it('is causal: changing later tokens leaves earlier logits unchanged; no leaks', async () => {
    const model = buildModel(registry, config({ kind: 'lm-infinite', nGlobal: 2, nLocal: 3 })) as CausalLM;
    const ids = tf.tensor2d(seq, [1, 16], 'int32');
    const other = tf.tensor2d([[...seq[0].slice(0, 10), 15, 14, 13, 12, 11, 10]], [1, 16], 'int32');
    const [x, y] = [ids, other].map((t) => model.forward(t));
    const [x0, y0] = [x, y].map((t) => t.slice([0, 0, 0], [1, 10, 16]));
    expectTensorsClose(x0, y0.dataSync(), { atol: 1e-6, rtol: 1e-6 });
    await expectNoLeaks(() => {
      model.forward(ids).dispose();
    }, 3);
    tf.dispose([ids, other, x, y, x0, y0]);
    model.dispose();
  });
}, ['wasm']);

describe('lm-infinite distance limit: config-time errors', () => {
  const fakeRotary = definePlugin({
    name: 'test-fake-rotary',
    version: '0.0.0',
    provides: [
      positional('fake-rotary', {
        capabilities: { embed: false, rotate: true, bias: false },
        create: () => ({ rotate: (q: Tensor, k: Tensor) => [q, k] as [Tensor, Tensor] }),
      }),
    ],
  });
  const registry = createRegistry().use(standard, rope, fakeRotary, lmInfinite);
  const base = { vocab: 16, dModel: 16, layers: 1, heads: 2 };
  it('a rotary encoding that is not additive in position is refused, naming the field, the value and the fix', () => {
    expect(() => buildModel(registry, { ...base, positional: 'fake-rotary', attention: { kind: 'lm-infinite' } })).toThrow(
      /mixer\.attention\.distanceLimit: true needs a rotary encoding whose rotations add up in position \(rope, rope-scaling\), but the positional encoding is "fake-rotary"\. Set "distanceLimit": false/,
    );
    const ok = buildModel(registry, { ...base, positional: 'fake-rotary', attention: { kind: 'lm-infinite', distanceLimit: false } });
    ok.dispose();
    expect(() => registry.validate('attention', { kind: 'lm-infinite', distanceLimit: 'yes' }, 'attention')).toThrow(/attention\.distanceLimit: distanceLimit must be true .* or false/);
  });
});

describeWithBackends('lm-infinite distance limit: memory', () => {
  it('n = 4096, nGlobal 16, nLocal 128, Dh 16: the clamped forward stays far below one n×n float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = new LMInfiniteAttention({ nGlobal: 16, nLocal: 128 }, encoding(D, 'interleaved'));
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.25 })));
    expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
    tf.dispose([q, k, v, info.result as Tensor]);
  });
}, ['wasm']);
