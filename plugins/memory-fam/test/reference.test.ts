/**
 * TransformerFAM against naive per-token loops written here from Algorithm 1
 * (arXiv:2404.09173 §3): with F = 0 it is block sliding-window attention (mask: key j is
 * visible to query i iff j ≤ i and block(j) ≥ block(i) − window); with F > 0 the FAM tokens
 * are computed block by block in the loops; the carried FAM changes later blocks; the parity
 * fixture from tools/parity/memory-fam.py (own PyTorch port).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, useBackend, type ForwardContext } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { FamAttention, FamState } from '../src/index.js';

const D = 8;
const H = 2;
const Dh = 4;
const N = 3; // block (segment) length
const S = 4; // blocks

type Mat = number[][];
const dot = (a: number[], b: number[]): number => a.reduce((s, ai, i) => s + ai * b[i], 0);
const matrix = (t: tf.Tensor): Mat => t.arraySync() as Mat;
const project = (x: Mat, w: Mat): Mat => x.map((row) => w[0].map((_, o) => row.reduce((s, xi, i) => s + xi * w[i][o], 0)));
const head = (row: number[], h: number): number[] => row.slice(h * Dh, (h + 1) * Dh);

/** softmax(q·k/√Dh) v over the given rows, per head, then W_O: one output row [D]. */
function attendRow(layer: FamAttention, query: number[], keys: Mat): number[] {
  const q = project([query], matrix(layer.wq.weight))[0];
  const k = project(keys, matrix(layer.wk.weight));
  const v = project(keys, matrix(layer.wv.weight));
  const concat: number[] = [];
  for (let h = 0; h < H; h++) {
    const logits = k.map((kr) => dot(head(q, h), head(kr, h)) / Math.sqrt(Dh));
    const mx = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    const o = new Array(Dh).fill(0);
    e.forEach((w, j) => head(v[j], h).forEach((vv, d) => (o[d] += (w / sum) * vv)));
    concat.push(...o);
  }
  return project([concat], matrix(layer.wo.weight))[0];
}

/** Naive Algorithm 1 over x [S·N][D]. */
function naive(layer: FamAttention, x: Mat, F: number, window: number): Mat {
  let fam: Mat = F > 0 ? matrix(layer.famInit!) : [];
  const out: Mat = [];
  for (let b = 0; b < S; b++) {
    const start = Math.max(0, (b - window) * N);
    for (let i = b * N; i < (b + 1) * N; i++) {
      // block query: previous FAM, the lookback blocks and the block up to itself
      out.push(attendRow(layer, x[i], [...fam, ...x.slice(start, i + 1)]));
    }
    // FAM queries: previous FAM and the whole block; FAM_τ = FAM_{τ−1} + attention output
    const block = x.slice(b * N, (b + 1) * N);
    fam = fam.map((f) => attendRow(layer, f, [...fam, ...block]).map((o, d) => f[d] + o));
  }
  return out;
}

function runSegments(layer: FamAttention, x: tf.Tensor): tf.Tensor {
  let state = layer.initState(1);
  const ys: tf.Tensor[] = [];
  for (let s = 0; s < S; s++) {
    const ctx: ForwardContext = { causal: true, training: false, positions: tf.zeros([1, N], 'int32'), rng: new Rng(0), layerIndex: 0, scratch: new Map() };
    const seg = tf.slice(x, [0, s * N, 0], [1, N, D]);
    const [y, next] = layer.forwardSegment(seg, state, ctx);
    state = next;
    ys.push(y);
    tf.dispose([seg, ctx.positions]);
  }
  state.dispose();
  const y = tf.concat(ys, 1);
  tf.dispose(ys);
  return y;
}

function maxDiff(a: Mat, b: Mat): number {
  let m = 0;
  a.forEach((row, t) => row.forEach((v, d) => (m = Math.max(m, Math.abs(v - b[t][d])))));
  return m;
}

function make(F: number, window: number): FamAttention {
  const layer = new FamAttention({ memoryTokens: F, window }, { dModel: D, heads: H, headDim: Dh }, new Rng(7));
  for (const lin of [layer.wq, layer.wk, layer.wv, layer.wo]) tf.tidy(() => lin.weight.assign(new Rng(11).fork(lin.weight.name).normalTensor(lin.weight.shape as number[], 0, 0.5)));
  if (layer.famInit) tf.tidy(() => layer.famInit!.assign(new Rng(12).normalTensor(layer.famInit!.shape as number[])));
  return layer;
}

describe('TransformerFAM vs naive loops', () => {
  beforeAll(() => useBackend('cpu'));

  for (const window of [0, 1, 2]) {
    it(`memoryTokens 0 is block sliding-window attention (window ${window}): dense masked attention`, () => {
      const layer = make(0, window);
      const x = new Rng(5).normalTensor([1, S * N, D]);
      const xs = matrix(tf.squeeze(x, [0]));
      const y = runSegments(layer, x);
      // independent dense form: query i sees j iff j ≤ i and floor(j/N) ≥ floor(i/N) − window
      const expected = xs.map((row, i) => attendRow(layer, row, xs.filter((_, j) => j <= i && Math.floor(j / N) >= Math.floor(i / N) - window)));
      expect(maxDiff((y.arraySync() as Mat[])[0], expected)).toBeLessThan(1e-4);
      tf.dispose([x, y]);
      layer.dispose();
    });
  }

  for (const [F, window] of [
    [2, 1],
    [3, 0],
  ]) {
    it(`F = ${F}, window ${window}: segment outputs equal Algorithm 1 computed in loops`, () => {
      const layer = make(F, window);
      const x = new Rng(5).normalTensor([1, S * N, D]);
      const before = tf.memory().numTensors;
      const y = runSegments(layer, x);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(maxDiff((y.arraySync() as Mat[])[0], naive(layer, matrix(tf.squeeze(x, [0])), F, window))).toBeLessThan(1e-4);
      tf.dispose([x, y]);
      layer.dispose();
    });
  }

  it('matches the PyTorch port (tools/parity/memory-fam.py): outputs and the final FAM, batch 2', () => {
    const f = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'fam.json'), 'utf8'));
    const m = new FamAttention({ memoryTokens: f.memoryTokens, window: f.window }, { dModel: f.dModel, heads: f.heads, headDim: f.headDim }, new Rng(0));
    m.wq.weight.assign(tf.tensor(f.q_proj));
    m.wk.weight.assign(tf.tensor(f.k_proj));
    m.wv.weight.assign(tf.tensor(f.v_proj));
    m.wo.weight.assign(tf.tensor(f.o_proj));
    m.famInit!.assign(tf.tensor(f.fam_init));
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
    expectTensorsClose(tf.concat(ys, 1), tf.tensor(f.y), { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose((state as FamState).fam!, tf.tensor(f.fam), { atol: 1e-5, rtol: 1e-4 });
    state.dispose();
    tf.dispose([x, ...ys]);
    m.dispose();
  });

  it('the carried FAM changes later blocks even with window 0; with F = 0 and window 0 blocks are independent', () => {
    const x = new Rng(5).normalTensor([1, S * N, D]);
    const x2 = tf.concat([new Rng(6).normalTensor([1, N, D]), tf.slice(x, [0, N, 0], [1, (S - 1) * N, D])], 1); // block 0 changed
    const lastDiff = (layer: FamAttention): number => {
      const a = runSegments(layer, x);
      const b = runSegments(layer, x2);
      const d = tf.max(tf.abs(tf.sub(tf.slice(a, [0, N, 0], [1, (S - 1) * N, D]), tf.slice(b, [0, N, 0], [1, (S - 1) * N, D])))).dataSync()[0];
      tf.dispose([a, b]);
      layer.dispose();
      return d;
    };
    expect(lastDiff(make(2, 0))).toBeGreaterThan(1e-5);
    expect(lastDiff(make(0, 0))).toBeLessThan(1e-7);
    tf.dispose([x, x2]);
  });
});
