/**
 * Independent references for Transformer-XL attention:
 *  - segment-wise evaluation with the memory == one pass over the whole sequence with the
 *    matching banded mask (query g of segment s sees keys max(0, start_s − memLength) .. g),
 *    written here as naive loops from the paper's formula;
 *  - rel-shift == an explicit gather of relative scores;
 *  - the parity fixture from tools/parity/memory-transformer-xl.py (own PyTorch port);
 *  - the memory is a stop-gradient: no gradient reaches the previous segment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, useBackend, type Tensor } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { relShift, TransformerXlAttention, type XlMemory } from '../src/index.js';

const D = 8;
const H = 2;
const Dh = 4;

function make(memLength: number, seed = 1): TransformerXlAttention {
  const m = new TransformerXlAttention({ dModel: D, heads: H, headDim: Dh, memLength }, new Rng(seed));
  // Larger weights than the 0.02 init so that every term matters.
  const rng = new Rng(seed + 100);
  for (const [, p] of m.namedParameters()) p.assign(rng.normalTensor(p.shape as number[]).mul(0.5));
  return m;
}

const arr = (t: Tensor) => t.arraySync() as number[][];

/** Naive whole-sequence Transformer-XL attention with a banded mask, from the paper's A^rel formula. */
function naiveBanded(m: TransformerXlAttention, x: number[][][], segmentLength: number, memLength: number): number[][][] {
  const Wqkv = arr(m.qkvNet.weight); // [D, 3·H·Dh]
  const Wr = arr(m.rNet.weight); // [D, H·Dh]
  const Wo = arr(m.oNet.weight); // [H·Dh, D]
  const u = arr(m.rWBias);
  const vb = arr(m.rRBias);
  const matvec = (row: number[], W: number[][]) => W[0].map((_, c) => row.reduce((s, r, i) => s + r * W[i][c], 0));
  const R = (d: number) => {
    const half = Array.from({ length: D / 2 }, (_, i) => d / Math.pow(10000, (2 * i) / D));
    return [...half.map(Math.sin), ...half.map(Math.cos)];
  };
  return x.map((seq) => {
    const qkv = seq.map((t) => matvec(t, Wqkv));
    return seq.map((_, g) => {
      const start = Math.floor(g / segmentLength) * segmentLength;
      const lo = Math.max(0, start - memLength);
      const o: number[] = [];
      for (let h = 0; h < H; h++) {
        const q = qkv[g].slice(h * Dh, (h + 1) * Dh);
        const scores: number[] = [];
        for (let j = lo; j <= g; j++) {
          const k = qkv[j].slice(H * Dh + h * Dh, H * Dh + (h + 1) * Dh);
          const r = matvec(R(g - j), Wr).slice(h * Dh, (h + 1) * Dh);
          let s = 0;
          for (let d = 0; d < Dh; d++) s += (q[d] + u[h][d]) * k[d] + (q[d] + vb[h][d]) * r[d];
          scores.push(s / Math.sqrt(Dh));
        }
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < Dh; d++) {
          let acc = 0;
          for (let j = lo; j <= g; j++) acc += (e[j - lo] / z) * qkv[j][2 * H * Dh + h * Dh + d];
          o.push(acc);
        }
      }
      return matvec(o, Wo);
    });
  });
}

function runSegments(m: TransformerXlAttention, x: Tensor, segmentLength: number): Tensor {
  const [B, L] = x.shape as number[];
  let state = m.initState(B);
  const outs: Tensor[] = [];
  for (let start = 0; start < L; start += segmentLength) {
    const len = Math.min(segmentLength, L - start);
    const ctx = makeForwardContext(B, len, { causal: true });
    const [y, next] = m.forwardSegment(tf.slice(x, [0, start, 0], [B, len, -1]), state, ctx);
    outs.push(y);
    state = next;
  }
  state.dispose();
  return tf.concat(outs, 1);
}

describe('transformer-xl reference', () => {
  beforeAll(() => useBackend('cpu'));

  for (const [segmentLength, memLength] of [
    [4, 4],
    [4, 2],
    [3, 7],
    [4, 0],
  ]) {
    it(`segments of ${segmentLength} with memLength ${memLength} == whole sequence with the banded mask`, () => {
      const m = make(memLength);
      const x = new Rng(5).normalTensor([2, 11, D]);
      const expected = naiveBanded(m, x.arraySync() as number[][][], segmentLength, memLength);
      expectTensorsClose(runSegments(m, x, segmentLength), tf.tensor(expected), { atol: 1e-4, rtol: 1e-4 });
      m.dispose();
    });
  }

  it('plain forward == the naive formula with full causal attention (one segment, no memory)', () => {
    const m = make(3);
    const x = new Rng(6).normalTensor([1, 7, D]);
    const expected = naiveBanded(m, x.arraySync() as number[][][], 7, 0);
    expectTensorsClose(m.forward(x, makeForwardContext(1, 7, { causal: true })), tf.tensor(expected), { atol: 1e-4, rtol: 1e-4 });
    m.dispose();
  });

  it('rel-shift == an explicit gather: out[i, j] = x[i, j + Lq − 1 − i] wherever j <= i + M', () => {
    const [B, Hh, Lq, M] = [2, 3, 4, 5];
    const K = Lq + M;
    const x = new Rng(7).normalTensor([B, Hh, Lq, K]);
    const xs = x.arraySync() as number[][][][];
    const out = relShift(x).arraySync() as number[][][][];
    for (let b = 0; b < B; b++)
      for (let h = 0; h < Hh; h++)
        for (let i = 0; i < Lq; i++)
          for (let j = 0; j <= i + M; j++) expect(out[b][h][i][j]).toBeCloseTo(xs[b][h][i][j + Lq - 1 - i], 6);
  });

  it('matches the PyTorch port (tools/parity/memory-transformer-xl.py) over three segments', () => {
    const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'transformer-xl.json'), 'utf8'));
    const m = new TransformerXlAttention({ dModel: f.dModel, heads: f.heads, headDim: f.headDim, memLength: f.memLength }, new Rng(0));
    m.qkvNet.weight.assign(tf.tensor(f.qkv_net));
    m.rNet.weight.assign(tf.tensor(f.r_net));
    m.oNet.weight.assign(tf.tensor(f.o_net));
    m.rWBias.assign(tf.tensor(f.r_w_bias));
    m.rRBias.assign(tf.tensor(f.r_r_bias));
    expectTensorsClose(runSegments(m, tf.tensor(f.x), f.segmentLength), tf.tensor(f.y), { atol: 1e-5, rtol: 1e-4 });
    m.dispose();
  });

  it('the memory is a stop-gradient: segment 2’s output has no gradient w.r.t. segment 1’s input', () => {
    const m = make(4);
    const x1 = new Rng(8).normalTensor([1, 4, D]);
    const x2 = new Rng(9).normalTensor([1, 4, D]);
    const ctx = makeForwardContext(1, 4, { causal: true });
    const seg2 = (a: Tensor, b: Tensor) => {
      const [y1, s1] = m.forwardSegment(a, m.initState(1), ctx);
      const [y2, s2] = m.forwardSegment(b, s1, ctx);
      // the memory still changes segment 2's output (it is used, just not differentiated)
      y1.dispose();
      s2.dispose();
      return tf.sum(tf.square(y2));
    };
    // `+ 0·Σa` connects x1 to the result, so tfjs reports its (zero) gradient instead of refusing.
    const [g1, g2] = tf.grads((a: Tensor, b: Tensor) => tf.add(seg2(a, b), tf.mul(0, tf.sum(a))))([x1, x2]);
    expect(tf.max(tf.abs(g1)).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(g2)).dataSync()[0]).toBeGreaterThan(0);
    // ...while the values do flow: a different segment 1 changes segment 2's output.
    const other = new Rng(10).normalTensor([1, 4, D]);
    expect(Math.abs(seg2(x1, x2).dataSync()[0] - seg2(other, x2).dataSync()[0])).toBeGreaterThan(1e-6);
    m.dispose();
  });

  it('memory size is constant: at most memLength cached inputs per layer', () => {
    const m = make(5);
    let state = m.initState(2);
    const ctx = makeForwardContext(2, 3, { causal: true });
    const lengths: number[] = [];
    for (let s = 0; s < 6; s++) {
      const x = new Rng(s).normalTensor([2, 3, D]);
      const [y, next] = m.forwardSegment(x, state, ctx);
      state = next;
      lengths.push((state as XlMemory).length);
      tf.dispose([x, y]);
    }
    expect(lengths).toEqual([3, 5, 5, 5, 5, 5]);
    expect(state.bytes()).toBe(2 * 5 * D * 4);
    state.dispose();
    m.dispose();
  });
});
