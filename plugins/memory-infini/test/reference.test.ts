/**
 * Infini-attention against a naive per-token computation written here from the paper's
 * equations (arXiv:2404.07143 eq. 2–7): linear update == linear attention over all earlier
 * segments' keys/values; delta update == eq. 5 with M, z built in loops; constant memory size;
 * gradients through the carried memory; the parity fixture from tools/parity/memory-infini.py
 * (own PyTorch port).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, useBackend, type ForwardContext } from '@weft/core';
import { expectTensorsClose, gradCheck } from '@weft/core/testing';
import { InfiniAttention, INFINI_EPSILON } from '../src/index.js';

const D = 8;
const H = 2;
const Dh = 4;
const N = 4; // segment length
const S = 3; // segments

type Mat = number[][];
const elu1 = (a: number): number => (a > 0 ? a + 1 : Math.exp(a));
const dot = (a: number[], b: number[]): number => a.reduce((s, ai, i) => s + ai * b[i], 0);
const matrix = (t: tf.Tensor): Mat => t.arraySync() as Mat;
const project = (x: Mat, w: Mat): Mat => x.map((row) => w[0].map((_, o) => row.reduce((s, xi, i) => s + xi * w[i][o], 0)));
const head = (row: number[], h: number): number[] => row.slice(h * Dh, (h + 1) * Dh);

/** Naive Infini-attention for one sequence x [S·N][D]; update 'linear' or 'delta'. */
function naive(layer: InfiniAttention, x: Mat, update: 'linear' | 'delta'): Mat {
  const q = project(x, matrix(layer.wq.weight));
  const k = project(x, matrix(layer.wk.weight));
  const v = project(x, matrix(layer.wv.weight));
  const wo = matrix(layer.wo.weight);
  const beta = Array.from(layer.beta.dataSync());
  const out: Mat = [];
  // the memory per head, built token by token in loops (eq. 4 / eq. 5)
  const M: Mat[] = Array.from({ length: H }, () => Array.from({ length: Dh }, () => new Array(Dh).fill(0)));
  const z: number[][] = Array.from({ length: H }, () => new Array(Dh).fill(0));
  for (let s = 0; s < S; s++) {
    const rows: number[][] = [];
    for (let t = s * N; t < (s + 1) * N; t++) {
      const concat: number[] = [];
      for (let h = 0; h < H; h++) {
        const qt = head(q[t], h);
        // eq. 2: causal softmax within the segment
        const logits: number[] = [];
        for (let j = s * N; j <= t; j++) logits.push(dot(qt, head(k[j], h)) / Math.sqrt(Dh));
        const mx = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        const local = new Array(Dh).fill(0);
        e.forEach((w, i) => head(v[s * N + i], h).forEach((vv, d) => (local[d] += (w / sum) * vv)));
        let mem = new Array(Dh).fill(0);
        if (update === 'linear') {
          // eq. 3 with eq. 4 unrolled: linear attention over every earlier segment's keys/values
          const sq = qt.map(elu1);
          let den = 0;
          for (let j = 0; j < s * N; j++) {
            const w = dot(sq, head(k[j], h).map(elu1));
            den += w;
            head(v[j], h).forEach((vv, d) => (mem[d] += w * vv));
          }
          mem = mem.map((m) => m / (den + INFINI_EPSILON));
        } else {
          const sq = qt.map(elu1);
          const den = dot(sq, z[h]);
          mem = mem.map((_, d) => sq.reduce((acc, a, i) => acc + a * M[h][i][d], 0) / (den + INFINI_EPSILON));
        }
        const g = 1 / (1 + Math.exp(-beta[h])); // eq. 6
        for (let d = 0; d < Dh; d++) concat.push(g * mem[d] + (1 - g) * local[d]);
      }
      rows.push(concat);
    }
    if (update === 'delta') {
      // eq. 5: M_s = M + σ(K)ᵀ(V − σ(K)M/(σ(K)z)), all retrievals against M_{s−1}
      for (let h = 0; h < H; h++) {
        const Mold = M[h].map((r) => r.slice());
        const zold = z[h].slice();
        for (let t = s * N; t < (s + 1) * N; t++) {
          const sk = head(k[t], h).map(elu1);
          const den = dot(sk, zold);
          const retrieved = new Array(Dh).fill(0).map((_, d) => sk.reduce((acc, a, i) => acc + a * Mold[i][d], 0) / (den + INFINI_EPSILON));
          const vt = head(v[t], h);
          for (let i = 0; i < Dh; i++) for (let d = 0; d < Dh; d++) M[h][i][d] += sk[i] * (vt[d] - retrieved[d]);
        }
        for (let t = s * N; t < (s + 1) * N; t++) head(k[t], h).map(elu1).forEach((a, i) => (z[h][i] += a));
      }
    }
    out.push(...project(rows, wo)); // eq. 7
  }
  return out;
}

const ctxFor = (): ForwardContext => ({ causal: true, training: false, positions: tf.zeros([1, N], 'int32'), rng: new Rng(0), layerIndex: 0, scratch: new Map() });

function runSegments(layer: InfiniAttention, x: tf.Tensor): { y: tf.Tensor; bytes: number[] } {
  let state = layer.initState(1);
  const ys: tf.Tensor[] = [];
  const bytes: number[] = [];
  for (let s = 0; s < S; s++) {
    const ctx = ctxFor();
    const seg = tf.slice(x, [0, s * N, 0], [1, N, D]);
    const [y, next] = layer.forwardSegment(seg, state, ctx);
    state = next;
    bytes.push(state.bytes!());
    ys.push(y);
    tf.dispose([seg, ctx.positions]);
  }
  state.dispose();
  const y = tf.concat(ys, 1);
  tf.dispose(ys);
  return { y, bytes };
}

describe('infini-attention vs a naive reference', () => {
  beforeAll(() => useBackend('cpu'));

  for (const update of ['linear', 'delta'] as const) {
    it(`${update} update: segment outputs equal the naive eq. 2–7 computation`, () => {
      const layer = new InfiniAttention({ update }, { dModel: D, heads: H, headDim: Dh }, new Rng(7));
      // larger weights than the init so that the memory term is not negligible; a non-trivial gate
      for (const lin of [layer.wq, layer.wk, layer.wv, layer.wo]) tf.tidy(() => lin.weight.assign(new Rng(11).fork(lin.weight.name).normalTensor(lin.weight.shape as number[])));
      layer.beta.assign(tf.tensor1d([0.7, -0.4]));
      const x = new Rng(5).normalTensor([1, S * N, D]);
      const before = tf.memory().numTensors;
      const { y } = runSegments(layer, x);
      expect(tf.memory().numTensors).toBe(before + 1);
      const expected = naive(layer, matrix(tf.squeeze(x, [0]) as tf.Tensor2D), update);
      const got = (y.arraySync() as number[][][])[0];
      let maxErr = 0;
      got.forEach((row, t) => row.forEach((a, d) => (maxErr = Math.max(maxErr, Math.abs(a - expected[t][d])))));
      expect(maxErr).toBeLessThan(1e-4);
      tf.dispose([x, y]);
      layer.dispose();
    });
  }

  for (const update of ['linear', 'delta'] as const) {
    it(`${update} update matches the PyTorch port (tools/parity/memory-infini.py) over three segments, batch 2`, () => {
      const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'infini.json'), 'utf8'));
      const m = new InfiniAttention({ update }, { dModel: f.dModel, heads: f.heads, headDim: f.headDim }, new Rng(0));
      m.wq.weight.assign(tf.tensor(f.q_proj));
      m.wk.weight.assign(tf.tensor(f.k_proj));
      m.wv.weight.assign(tf.tensor(f.v_proj));
      m.wo.weight.assign(tf.tensor(f.o_proj));
      m.beta.assign(tf.tensor(f.beta));
      const x = tf.tensor(f.x) as tf.Tensor3D;
      const [B, L] = x.shape;
      const Ls = f.segmentLength as number;
      let state = m.initState(B);
      const ys: tf.Tensor[] = [];
      for (let start = 0; start < L; start += Ls) {
        const seg = tf.slice(x, [0, start, 0], [B, Ls, -1]);
        const ctx: ForwardContext = { causal: true, training: false, positions: tf.zeros([B, Ls], 'int32'), rng: new Rng(0), layerIndex: 0, scratch: new Map() };
        const [y, next] = m.forwardSegment(seg, state, ctx);
        state = next;
        ys.push(y);
        tf.dispose([seg, ctx.positions]);
      }
      state.dispose();
      expectTensorsClose(tf.concat(ys, 1), tf.tensor(f[`y_${update}`]), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([x, ...ys]);
      m.dispose();
    });
  }

  it('the memory read matters: segment 2 differs from a fresh forward of the same segment', () => {
    const layer = new InfiniAttention({ update: 'linear' }, { dModel: D, heads: H, headDim: Dh }, new Rng(7));
    const x = new Rng(5).normalTensor([1, S * N, D]);
    const { y } = runSegments(layer, x);
    const ctx = ctxFor();
    const last = tf.slice(x, [0, (S - 1) * N, 0], [1, N, D]);
    const fresh = layer.forward(last, ctx);
    const diff = tf.max(tf.abs(tf.sub(tf.slice(y, [0, (S - 1) * N, 0], [1, N, D]), fresh))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-6);
    tf.dispose([x, y, last, fresh, ctx.positions]);
    layer.dispose();
  });

  it('the memory size is constant in the number of segments (H·Dh·Dh + H·Dh floats)', () => {
    const layer = new InfiniAttention({ update: 'delta' }, { dModel: D, heads: H, headDim: Dh }, new Rng(7));
    const x = new Rng(5).normalTensor([1, S * N, D]);
    const { y, bytes } = runSegments(layer, x);
    expect(bytes).toEqual(new Array(S).fill((H * Dh * Dh + H * Dh) * 4));
    expect(layer.initState(1).bytes!()).toBe(0);
    tf.dispose([x, y]);
    layer.dispose();
  });

  it('gradients flow through the carried memory into the earlier segment (finite differences)', () => {
    const layer = new InfiniAttention({ update: 'delta' }, { dModel: D, heads: H, headDim: Dh }, new Rng(3));
    for (const lin of [layer.wq, layer.wk, layer.wv, layer.wo]) tf.tidy(() => lin.weight.assign(tf.mul(lin.weight, 20)));
    const x1 = new Rng(1).normalTensor([1, N, D]);
    const x2 = new Rng(2).normalTensor([1, N, D]);
    const r = new Rng(4).normalTensor([1, N, D]);
    const ctx = ctxFor();
    // loss on segment 2 only: its gradient w.r.t. segment 1 comes through (M_1, z_1) alone
    const f = (a: tf.Tensor): tf.Scalar =>
      tf.tidy(() => {
        const [, s1] = layer.forwardSegment(a, layer.initState(1), ctx);
        const [y2, s2] = layer.forwardSegment(x2, s1, ctx);
        s2.dispose();
        return tf.sum(tf.mul(y2, r)) as tf.Scalar;
      });
    const result = gradCheck(f, [x1], { eps: 1e-2, atol: 5e-3, rtol: 2e-2 }); // throws on a mismatch
    expect(result.maxAbsError).toBeLessThan(5e-3);
    const g = tf.grad(f)(x1);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(1e-5);
    tf.dispose([x1, x2, r, g, ctx.positions]);
    layer.dispose();
  });
});
