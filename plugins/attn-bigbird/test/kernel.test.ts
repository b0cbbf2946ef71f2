import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { BigbirdAttention, bigbirdPlans, bigbirdRandomTable } from '@weft/attn-bigbird';

const make = (blockSize: number, numRandomBlocks: number, seed = 0) => new BigbirdAttention({ blockSize, numRandomBlocks, seed });

/**
 * The ITC pattern, written here from the paper (§2, App. D) independently of the plugin:
 * query block I, key block J, with `rand` = the r random blocks of each middle query block.
 */
function pattern(b: number, nb: number, rand: number[][]) {
  return (i: number, j: number) => {
    const I = Math.floor(i / b), J = Math.floor(j / b);
    if (I === 0 || I === nb - 1 || J === 0 || J === nb - 1) return true;
    if (Math.abs(I - J) <= 1) return true;
    return rand[I - 1].includes(J);
  };
}

/** A legal table written by hand: row i takes the blocks i + 2, i + 3, ... cyclically within 1 .. nb-2, skipping the excluded ones. */
function handTable(nb: number, r: number, shift: number): number[][] {
  return Array.from({ length: nb - 2 }, (_, m) => {
    const i = m + 1;
    const bad = new Set([0, nb - 1, i - 1, i, i + 1, ...(i === 1 ? [nb - 2] : []), ...(i === nb - 2 ? [1] : [])]);
    const out: number[] = [];
    for (let t = 0; out.length < r; t++) {
      const J = 1 + ((i + 1 + shift + t) % (nb - 2));
      if (!bad.has(J) && !out.includes(J)) out.push(J);
    }
    return out;
  });
}

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

// L = 12 ≤ (5 + 2r)·b: Big Bird is dense attention there (HF's rule), so the exact checks apply.
attentionKernelConformance('bigbird (L ≤ (5 + 2r)·b: dense)', () => make(4, 1), { exact: true });
// The sparse path: L = 12 > (5 + 2·0)·2 = 10, nb = 6 blocks of 2.
attentionKernelConformance('bigbird (sparse, b = 2, r = 0)', () => make(2, 0), { exact: false });

describe('bigbird random tables', () => {
  const nb = 12, r = 3, H = 4;
  const table = bigbirdRandomTable(nb, r, H, new Rng(3));
  it('each middle row: r distinct blocks from outside {0, nb-1, i-1, i, i+1} (row 1 also not nb-2, row nb-2 not 1)', () => {
    expect(table).toHaveLength(H);
    for (const head of table) {
      expect(head).toHaveLength(nb - 2);
      head.forEach((row, m) => {
        const i = m + 1;
        expect(new Set(row).size).toBe(r);
        for (const J of row) {
          expect(J).toBeGreaterThanOrEqual(1);
          expect(J).toBeLessThanOrEqual(nb - 2);
          expect(Math.abs(J - i)).toBeGreaterThan(1);
        }
        if (i === 1) expect(row).not.toContain(nb - 2);
        if (i === nb - 2) expect(row).not.toContain(1);
      });
    }
  });
  it('per-head tables differ; same seed -> same table; another seed or layer -> another table', () => {
    expect(table[0]).not.toEqual(table[1]);
    expect(bigbirdRandomTable(nb, r, H, new Rng(3))).toEqual(table);
    expect(bigbirdRandomTable(nb, r, H, new Rng(4))).not.toEqual(table);
    const k = make(2, 3, 7);
    expect(k.table(nb, H, 0)).toEqual(make(2, 3, 7).table(nb, H, 0));
    expect(k.table(nb, H, 0)).not.toEqual(k.table(nb, H, 1));
    expect(k.table(nb, H, 0)).not.toEqual(make(2, 3, 8).table(nb, H, 0));
  });
  it('draws every legal candidate over many tables (uniform-ish, none illegal)', () => {
    const counts = new Map<number, number>();
    for (let s = 0; s < 200; s++) for (const J of bigbirdRandomTable(10, 1, 1, new Rng(s))[0][4]) counts.set(J, (counts.get(J) ?? 0) + 1);
    // Row i = 5 of nb = 10: candidates 1, 2, 3, 7, 8.
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 7, 8]);
    for (const c of counts.values()) expect(c).toBeGreaterThan(20);
  });
  it('too few blocks for r random ones is a shape error naming r', () => {
    expect(() => bigbirdRandomTable(6, 2, 1, new Rng(0))).toThrow(/numRandomBlocks = 2/);
  });
});

describe('bigbird mask counts (paper: each middle query block sees 3 window + 2 global + r random blocks)', () => {
  it('L = 48, b = 4, r = 2: rows 2 .. nb-3 see 7 blocks, rows 1 and nb-2 see 6 (block 0 / nb-1 is in their window), global rows see all', () => {
    const b = 4, L = 48, nb = 12, r = 2;
    const plans = bigbirdPlans(L, b, bigbirdRandomTable(nb, r, 1, new Rng(1))[0]);
    const seen = new Map<number, Set<number>>();
    for (const p of plans) {
      for (let n = 0; n < p.nBlocks; n++) {
        for (let s = 0; s < p.bq; s++) {
          const i = p.qIdx[n * p.bq + s];
          const keys = new Set<number>();
          for (let t = 0; t < p.K; t++) if (p.allowed[(n * p.bq + s) * p.K + t]) keys.add(p.kIdx[n * p.K + t]);
          // each allowed key appears once per row (no duplicated key slots)
          let count = 0;
          for (let t = 0; t < p.K; t++) if (p.allowed[(n * p.bq + s) * p.K + t]) count++;
          expect(count).toBe(keys.size);
          seen.set(i, keys);
        }
      }
    }
    expect(seen.size).toBe(L);
    for (let i = 0; i < L; i++) {
      const I = Math.floor(i / b);
      const blocks = new Set([...seen.get(i)!].map((j) => Math.floor(j / b)));
      const expected = I === 0 || I === nb - 1 ? nb : I === 1 || I === nb - 2 ? 4 + r : 5 + r;
      expect(blocks.size).toBe(expected);
      expect(seen.get(i)!.size).toBe(expected * b);
    }
  });
});

describeWithBackends('bigbird equals dense attention under the generated mask', () => {
  const B = 2, H = 2, L = 32, D = 4, b = 2, nb = 16;
  const rng = new Rng(11);
  let q: Tensor, k: Tensor, v: Tensor;
  let qa: Float32Array, ka: Float32Array, va: Float32Array;
  beforeAll(() => {
    [q, k, v] = [rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D]), rng.normalTensor([B, H, L, D])];
    [qa, ka, va] = [q, k, v].map((t) => t.dataSync() as Float32Array);
  });
  afterAll(() => tf.dispose([q, k, v]));
  const dims = { B, H: 1, Lq: L, Lk: L, Dh: D };

  /** Each head against naive attention under that head's mask. */
  function checkPerHead(out: Tensor, tables: number[][][], extra: (b: number, i: number, j: number) => boolean = () => true, bias?: (i: number, j: number) => number) {
    const o = out.dataSync();
    tables.forEach((t, h) => {
      const allowed = pattern(b, nb, t);
      const ref = naiveAttention(headOf(qa, B, H, L, D, h), headOf(ka, B, H, L, D, h), headOf(va, B, H, L, D, h), dims, {
        scale: 0.5, allowed: (bb, i, j) => allowed(i, j) && extra(bb, i, j), bias: bias && ((_b, _h, i, j) => bias(i, j)),
      });
      expectTensorsClose(headOf(o, B, H, L, D, h), ref, { atol: 1e-5, rtol: 1e-4 });
    });
  }

  for (const r of [1, 3]) {
    it(`an explicit hand-written table, r = ${r}`, () => {
      const tables = [handTable(nb, r, 0), handTable(nb, r, 3)];
      const out = make(b, r).attendWithTable(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 }), tables);
      checkPerHead(out, tables);
      out.dispose();
    });
  }

  it('the kernel’s own seeded per-layer table (attend)', () => {
    const kernel = make(b, 2, 5);
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5, layerIndex: 3 }));
    checkPerHead(out, kernel.table(nb, H, 3));
    out.dispose();
  });

  it('with key padding and segment ids', () => {
    const keep = Array.from({ length: B * L }, (_, t) => (t % 7 === 3 ? 0 : 1));
    const seg = Array.from({ length: B * L }, (_, t) => (t % L < 20 ? 0 : 1));
    const mask = tf.tensor2d(keep, [B, L]);
    const ids = tf.tensor2d(seg, [B, L], 'int32');
    const tables = [handTable(nb, 2, 1), handTable(nb, 2, 2)];
    const out = make(b, 2).attendWithTable(q, k, v, makeAttentionContext({ causal: false, scale: 0.5, keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids }), tables);
    checkPerHead(out, tables, (bb, i, j) => keep[bb * L + j] === 1 && seg[bb * L + i] === seg[bb * L + j]);
    tf.dispose([mask, ids, out]);
  });

  it('logit bias (asked tile by tile) is added before the softmax', () => {
    const slope = 0.3;
    const biasFn = (a: { start: number; end: number }, c: { start: number; end: number }) =>
      tf.tidy(() => tf.abs(tf.sub(tf.range(a.start, a.end).reshape([-1, 1]), tf.range(c.start, c.end).reshape([1, -1]))).mul(-slope).reshape([1, 1, a.end - a.start, c.end - c.start]));
    const tables = [handTable(nb, 1, 0), handTable(nb, 1, 5)];
    const out = make(b, 1).attendWithTable(q, k, v, makeAttentionContext({ causal: false, scale: 0.5, logitBias: biasFn }), tables);
    checkPerHead(out, tables, undefined, (i, j) => -slope * Math.abs(i - j));
    out.dispose();
  });

  it('L ≤ (5 + 2r)·b is dense attention (HF); the sparse pattern at L > (5 + 2r)·b is not', () => {
    const dense = naiveAttention(qa, ka, va, { ...dims, H }, { scale: 0.5 });
    const wide = make(8, 1).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 })); // 32 ≤ 7·8
    const sparse = make(2, 1).attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.5 })); // 32 > 7·2
    expectTensorsClose(wide, dense, { atol: 1e-5, rtol: 1e-4 });
    expect(maxAbsDiff(sparse.dataSync(), dense)).toBeGreaterThan(0.05);
    tf.dispose([wide, sparse]);
  });

  it('grouped kv heads: query head h reads kv head ⌊h·Hkv/H⌋', () => {
    const k1 = k.slice([0, 0, 0, 0], [B, 1, L, D]);
    const v1 = v.slice([0, 0, 0, 0], [B, 1, L, D]);
    const tables = [handTable(nb, 1, 0), handTable(nb, 1, 4)];
    const out = make(b, 1).attendWithTable(q, k1, v1, makeAttentionContext({ causal: false, scale: 0.5 }), tables);
    const o = out.dataSync();
    const k1a = k1.dataSync(), v1a = v1.dataSync();
    tables.forEach((t, h) => {
      const allowed = pattern(b, nb, t);
      const ref = naiveAttention(headOf(qa, B, H, L, D, h), k1a, v1a, dims, { scale: 0.5, allowed: (_b, i, j) => allowed(i, j) });
      expectTensorsClose(headOf(o, B, H, L, D, h), ref, { atol: 1e-5, rtol: 1e-4 });
    });
    tf.dispose([k1, v1, out]);
  });

  it('a sparse length that is not a multiple of blockSize is refused with the fix', () => {
    const q2 = q.slice([0, 0, 0, 0], [B, H, 31, D]);
    expect(() => make(2, 1).attend(q2, q2, q2, makeAttentionContext({ causal: false, scale: 0.5 }))).toThrow(/sequence length 31 is not a multiple of blockSize 2; pad the input/);
    q2.dispose();
  });
});

describeWithBackends('bigbird gradients', () => {
  const B = 1, H = 2, L = 16, D = 3, b = 2, nb = 8;
  it('equal the gradients of dense masked attention, and finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, r] = [0, 1, 2, 3].map(() => rng.normalTensor([B, H, L, D]));
    const tables = [handTable(nb, 1, 0), handTable(nb, 1, 2)];
    const kernel = make(b, 1);
    const sparse = (x: Tensor, y: Tensor, z: Tensor) => tf.sum(tf.mul(kernel.attendWithTable(x, y, z, makeAttentionContext({ causal: false, scale: 0.5 }), tables), r)) as tf.Scalar;
    const dense = (x: Tensor, y: Tensor, z: Tensor) => {
      const heads = [0, 1].map((h) => {
        const allowed = pattern(b, nb, tables[h]);
        const m = new Float32Array(L * L);
        for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) m[i * L + j] = allowed(i, j) ? 0 : -1e9;
        const s = (t: Tensor) => t.slice([0, h, 0, 0], [B, 1, L, D]);
        return tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(s(x), s(y), false, true), 0.5), tf.tensor2d(m, [L, L]))), s(z));
      });
      return tf.sum(tf.mul(tf.concat(heads, 1), r)) as tf.Scalar;
    };
    const gs = tf.grads(sparse)([q, k, v]);
    const gd = tf.grads(dense)([q, k, v]);
    gs.forEach((g, i) => expectTensorsClose(g, gd[i], { atol: 1e-5, rtol: 1e-4 }));
    tf.dispose([...gs, ...gd]);
    gradCheck(sparse, [q, k, v], { eps: 1e-2, atol: 2e-2, rtol: 2e-2, maxElements: 20 });
    tf.dispose([q, k, v, r]);
  });
});

describeWithBackends('bigbird memory', () => {
  it('L = 4096, b = 64, r = 3, H = 1, Dh = 16: the forward never holds anything near an L×L float32 tensor', async () => {
    const L = 4096, D = 16;
    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([1, 1, L, D]));
    const kernel = make(64, 3);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 0.25 })));
    const out = info.result as Tensor;
    const LxL = L * L * 4; // 64 MiB
    expect(info.peakBytes - before).toBeLessThan(LxL / 4);
    expect(tf.memory().numBytes - before).toBe(L * D * 4); // only the output survives
    tf.dispose([q, k, v, out]);
  });
}, ['wasm']);
