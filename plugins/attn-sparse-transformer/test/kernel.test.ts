import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { SparseTransformerAttention, sparseTransformerPlan, type SparseTransformerOptions } from '@weft/attn-sparse-transformer';

const make = (o: Partial<SparseTransformerOptions> = {}) =>
  new SparseTransformerAttention({ pattern: 'strided', stride: 4, c: 2, factorization: 'heads', ...o });

/** The paper's sets (§4.2), written here independently of the plugin. j ≤ i is applied by the caller. */
const A = {
  strided: {
    1: (l: number) => (i: number, j: number) => j >= Math.max(0, i - l) && j <= i,
    2: (l: number) => (i: number, j: number) => (i - j) % l === 0,
  },
  fixed: {
    1: (l: number) => (i: number, j: number) => Math.floor(j / l) === Math.floor(i / l),
    2: (l: number, c: number) => (_i: number, j: number) => j % l >= l - c,
  },
};
const setOf = (pattern: 'strided' | 'fixed', set: 1 | 2, l: number, c = 2) => (pattern === 'strided' ? A.strided[set](l) : A.fixed[set](l, c));

function headOf(x: ArrayLike<number>, B: number, H: number, L: number, D: number, h: number): Float32Array {
  const out = new Float32Array(B * L * D);
  for (let b = 0; b < B; b++) for (let t = 0; t < L * D; t++) out[b * L * D + t] = x[(b * H + h) * L * D + t];
  return out;
}

attentionKernelConformance('sparse-transformer (strided)', () => make(), { exact: false });
attentionKernelConformance('sparse-transformer (fixed)', () => make({ pattern: 'fixed', stride: 3, c: 1 }), { exact: false });

describeWithBackends('sparse transformer equals dense attention under the pattern mask', () => {
  const B = 2, H = 2, L = 15, D = 4;
  const rng = new Rng(3);
  let q: Tensor, k: Tensor, v: Tensor;
  let arr: Float32Array[];
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, L, D]));
    arr = [q, k, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, k, v]));

  /** Head h of the kernel's output vs naive attention with that head's set. */
  function expectHeads(out: Tensor, sets: Array<1 | 2>, pattern: 'strided' | 'fixed', l: number, c: number, extra: (b: number, i: number, j: number) => boolean = () => true, Lq = L, offset = 0, qArr = arr[0]) {
    const o = out.dataSync();
    sets.forEach((set, h) => {
      const allowed = setOf(pattern, set, l, c);
      const ref = naiveAttention(headOf(qArr, B, H, Lq, D, h), headOf(arr[1], B, H, L, D, h), headOf(arr[2], B, H, L, D, h), { B, H: 1, Lq, Lk: L, Dh: D }, {
        causal: true, scale: 0.5, queryOffset: offset, allowed: (b, i, j) => allowed(i + offset, j) && extra(b, i, j),
      });
      expectTensorsClose(headOf(o, B, H, Lq, D, h), ref, { atol: 1e-5, rtol: 1e-4 });
    });
  }

  for (const [pattern, l, c] of [['strided', 4, 1], ['strided', 3, 1], ['fixed', 4, 2], ['fixed', 5, 1]] as Array<['strided' | 'fixed', number, number]>) {
    it(`${pattern}, l = ${l}${pattern === 'fixed' ? `, c = ${c}` : ''}: head 0 uses A(1), head 1 uses A(2)`, () => {
      const out = make({ pattern, stride: l, c }).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
      expectHeads(out, [1, 2], pattern, l, c);
      out.dispose();
    });
    it(`${pattern}, l = ${l}: interleaved factorization uses A(1) in even layers and A(2) in odd ones`, () => {
      for (const layerIndex of [0, 1, 2]) {
        const out = make({ pattern, stride: l, c, factorization: 'interleaved' }).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5, layerIndex }));
        const set = layerIndex % 2 === 0 ? 1 : 2;
        expectHeads(out, [set, set], pattern, l, c);
        out.dispose();
      }
    });
  }

  it('with key padding, segment ids, and decoding offsets (queryOffset = Lk − Lq)', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 7 === 5 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 9 ? 0 : 1));
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    for (const pattern of ['strided', 'fixed'] as const) {
      const out = make({ pattern }).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids }));
      expectHeads(out, [1, 2], pattern, 4, 2, (b, i, j) => keep[b * L + j] === 1 && seg[b * L + i] === seg[b * L + j]);
      out.dispose();
      const Lq = 5;
      const qTail = q.slice([0, 0, L - Lq, 0], [B, H, Lq, D]);
      const tail = make({ pattern }).attend(qTail, k, v, makeAttentionContext({ causal: true, scale: 0.5, queryOffset: L - Lq }));
      expectHeads(tail, [1, 2], pattern, 4, 2, () => true, Lq, L - Lq, qTail.dataSync() as Float32Array);
      tf.dispose([tail, qTail]);
    }
    tf.dispose([mask, ids]);
  });

  it('differs from dense causal attention on random inputs; stride ≥ L strided A(1) is dense', () => {
    const out = make().attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5 }));
    const dense = naiveAttention(arr[0], arr[1], arr[2], { B, H, Lq: L, Lk: L, Dh: D }, { causal: true, scale: 0.5 });
    const o = out.dataSync();
    expect(Math.max(...Array.from(o, (x, t) => Math.abs(x - dense[t])))).toBeGreaterThan(0.05);
    const wide = make({ stride: L, factorization: 'interleaved' }).attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.5, layerIndex: 0 }));
    expectTensorsClose(wide, dense, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([out, wide]);
  });
});

describe('sparse transformer pattern properties (n = 256, l = 16)', () => {
  const n = 256, l = 16, c = 4;
  /** The plan's allowed pairs scattered into a dense n×n boolean matrix (test-side). */
  function maskOf(pattern: 'strided' | 'fixed', set: 1 | 2): Uint8Array {
    const plan = sparseTransformerPlan({ pattern, stride: l, c }, set, n, n, 0);
    const m = new Uint8Array(n * n);
    for (let b = 0; b < plan.nBlocks; b++)
      for (let s = 0; s < plan.bq; s++)
        for (let t = 0; t < plan.K; t++) {
          if (!plan.allowed[(b * plan.bq + s) * plan.K + t]) continue;
          const i = plan.qIdx[b * plan.bq + s];
          const j = plan.kIdx[b * plan.K + t];
          if (m[i * n + j]) throw new Error(`pair (${i}, ${j}) listed twice`);
          m[i * n + j] = 1;
        }
    return m;
  }
  const count = (m: Uint8Array) => m.reduce((a, x) => a + x, 0);

  for (const pattern of ['strided', 'fixed'] as const) {
    it(`${pattern}: the blocked plans list exactly the paper's sets A(1), A(2) (causal)`, () => {
      for (const set of [1, 2] as const) {
        const m = maskOf(pattern, set);
        const def = setOf(pattern, set, l, c);
        const wrong: string[] = [];
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i * n + j] !== (j <= i && def(i, j) ? 1 : 0)) wrong.push(`(${i}, ${j})`);
        expect(wrong.slice(0, 5)).toEqual([]);
      }
    });

    it(`${pattern}: every j ≤ i is reachable in two hops through A(1) ∪ A(2)`, () => {
      const a1 = maskOf(pattern, 1);
      const a2 = maskOf(pattern, 2);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let ok = a1[i * n + j] === 1 || a2[i * n + j] === 1;
          for (let m = j; !ok && m <= i; m++) ok = (a2[i * n + m] === 1 && a1[m * n + j] === 1) || (a1[i * n + m] === 1 && a2[m * n + j] === 1);
          if (!ok) throw new Error(`${pattern}: key ${j} not reachable from query ${i} in two hops`);
        }
      }
    });
  }

  it('nonzeros are O(n√n): exact counts against the closed forms, far below n(n+1)/2', () => {
    // Strided: Σ_i (min(i, l) + 1) and Σ_i (⌊i/l⌋ + 1).
    const s1 = n * (l + 1) - (l * (l + 1)) / 2;
    const s2 = (n * (n / l + 1)) / 2;
    expect(count(maskOf('strided', 1))).toBe(s1);
    expect(count(maskOf('strided', 2))).toBe(s2);
    // Fixed: Σ_i (i mod l + 1) and Σ_blocks b·l·c + Σ_s max(0, s − (l − c) + 1) per block.
    const f1 = (n / l) * ((l * (l + 1)) / 2);
    const f2 = (l * c * (n / l) * (n / l - 1)) / 2 + (n / l) * ((c * (c + 1)) / 2);
    expect(count(maskOf('fixed', 1))).toBe(f1);
    expect(count(maskOf('fixed', 2))).toBe(f2);
    const nSqrtN = n * Math.sqrt(n);
    for (const total of [s1 + s2, f1 + f2]) {
      expect(total).toBeLessThan(2.5 * nSqrtN);
      expect(total).toBeLessThan((n * (n + 1)) / 2 / 3);
    }
  });
});

describeWithBackends('sparse transformer gradients', () => {
  it('match finite differences (both patterns)', () => {
    const rng = new Rng(9);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 9, 3]));
    for (const pattern of ['strided', 'fixed'] as const) {
      const kernel = make({ pattern, stride: 3, c: 1 });
      const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(kernel.attend(a, b, c, makeAttentionContext({ causal: true, scale: 0.5 })), r)) as tf.Scalar;
      gradCheck(f, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    }
    tf.dispose([q, k, v, r]);
  });
});

describeWithBackends('sparse transformer memory', () => {
  it('n = 4096, H = 2, Dh = 16 (strided l = 64, fixed l = 128, c = 8): the forward stays far below one n×n float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 2, L, D]));
    for (const pattern of ['strided', 'fixed'] as const) {
      const kernel = make(pattern === 'strided' ? { pattern, stride: 64 } : { pattern, stride: 128, c: 8 }); // the paper's √n stride; fixed: its l = 128, c = 8
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 0.25 })));
      expect(info.peakBytes - before).toBeLessThan((L * L * 4) / 4);
      (info.result as Tensor).dispose();
    }
    tf.dispose([q, k, v]);
  });
}, ['wasm']);
