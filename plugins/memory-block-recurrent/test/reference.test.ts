/**
 * The Block-Recurrent layer against independent references written in the tests: with S = 0 a
 * dense masked attention over the whole sequence (sliding window of W); with S > 0 the loop
 * reference of test/naive.ts for every gate × configuration. Properties from the paper: the
 * state carries information beyond the window; segment by segment == whole sequence; causal;
 * gradients flow through the state inside a segment and stop at segment boundaries (truncated
 * BPTT); the carried state has a constant size; closed gates keep c_0; gradCheck.
 */
import { Rng, tf, type ForwardContext } from '@weft/core';
import { expectTensorsClose, gradCheck } from '@weft/core/testing';
import { BlockRecurrentMixer, BlockRecurrentState, type BlockRecurrentConfig } from '../src/index.js';
import { naiveBlockRecurrent, readParams } from './naive.js';

const D = 8;
const H = 2;
const Dh = 4;
const W = 3;
const dims = { dModel: D, heads: H, headDim: Dh };
const ctx = {} as ForwardContext; // the mixer reads nothing from the context

function make(over: Partial<BlockRecurrentConfig> = {}, seed = 5): BlockRecurrentMixer {
  return new BlockRecurrentMixer({ blockLength: W, stateSize: 3, gate: 'fixed', configuration: 'skip', ffnHidden: 12, ...over }, dims, new Rng(seed));
}

/** Make the weights larger than the 0.02 init so that every path visibly matters. */
function scaleUp(m: BlockRecurrentMixer, seed = 11): void {
  const rng = new Rng(seed);
  for (const [name, v] of m.namedParameters()) {
    if (name.endsWith('.weight') && v.shape.length === 2) v.assign(rng.normalTensor(v.shape, 0, 0.5));
    else if (name.endsWith('bias')) v.assign(rng.normalTensor(v.shape, 0, 0.3));
  }
}

function seq(m: BlockRecurrentMixer, x: tf.Tensor, chunks: number[]): { y: tf.Tensor; state: BlockRecurrentState } {
  let state = m.initState(x.shape[0]) as BlockRecurrentState;
  const ys: tf.Tensor[] = [];
  let at = 0;
  for (const n of chunks) {
    const xs = tf.slice(x, [0, at, 0], [-1, n, -1]);
    const [y, next] = m.forwardSegment(xs, state, ctx);
    ys.push(y);
    xs.dispose();
    state = next as BlockRecurrentState;
    at += n;
  }
  const y = tf.concat(ys, 1);
  tf.dispose(ys);
  return { y, state };
}

describe('S = 0: block sliding-window attention == dense masked attention', () => {
  it('matches softmax(QKᵀ/√Dh + window mask) V W_o computed densely, and differs from full causal attention', () => {
    const m = make({ stateSize: 0 });
    scaleUp(m);
    const L = 10;
    const x = new Rng(1).normalTensor([2, L, D]);
    const dense = (window: number) =>
      tf.tidy(() => {
        const split = (w: tf.Tensor) => tf.transpose(tf.reshape(tf.matMul(tf.reshape(x, [2 * L, D]), w), [2, L, H, Dh]), [0, 2, 1, 3]);
        const q = split(m.wq.weight);
        const k = split(m.wk.weight);
        const v = split(m.wv.weight);
        const mask: number[][] = [];
        for (let i = 0; i < L; i++) mask.push(Array.from({ length: L }, (_, j) => (j <= i && j > i - window ? 0 : -1e9)));
        const p = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(Dh)), tf.tensor2d(mask)));
        const o = tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [2 * L, H * Dh]);
        return tf.reshape(tf.matMul(o, m.wo.weight), [2, L, D]);
      });
    const y = m.forward(x, ctx);
    const ref = dense(W);
    expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-4 });
    const full = dense(L);
    expect(tf.max(tf.abs(tf.sub(y, full))).dataSync()[0]).toBeGreaterThan(1e-3);
    // carried window: segment by segment gives the same outputs
    const { y: ys, state } = seq(m, x, [4, 1, 5]);
    expectTensorsClose(ys, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, ref, full, ys]);
    state.dispose();
    m.dispose();
  });
});

describe('S > 0: the recurrent cell == the loop reference (§3, recurrent cell and gates)', () => {
  const cases: Array<Pick<BlockRecurrentConfig, 'gate' | 'configuration'>> = [
    { gate: 'fixed', configuration: 'skip' },
    { gate: 'lstm', configuration: 'skip' },
    { gate: 'fixed', configuration: 'dual' },
    { gate: 'lstm', configuration: 'dual' },
    { gate: 'fixed', configuration: 'single' },
    { gate: 'lstm', configuration: 'single' },
  ];
  for (const c of cases) {
    it(`gate ${c.gate}, configuration ${c.configuration}: forward and segment by segment`, () => {
      const m = make(c);
      scaleUp(m);
      const L = 10; // 3 full blocks and a partial one
      const x = new Rng(2).normalTensor([2, L, D]);
      const p = readParams(m.namedParameters());
      const xs = x.arraySync() as number[][][];
      const refs = xs.map((xb) => naiveBlockRecurrent(p, { W, S: 3, H, Dh, ...c }, xb));
      const ref = tf.tensor3d(refs.map((r) => r.y));
      const y = m.forward(x, ctx);
      expectTensorsClose(y, ref, { atol: 1e-4, rtol: 1e-4 });
      // block-aligned segments carry the state exactly like one pass
      const { y: ys, state } = seq(m, x, [3, 6, 1]);
      expectTensorsClose(ys, ref, { atol: 1e-4, rtol: 1e-4 });
      expectTensorsClose(state.state!, tf.tensor3d(refs.map((r) => r.state)), { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([x, ref, y, ys]);
      state.dispose();
      m.dispose();
    });
  }

  it('one block at a time with the carried state == the whole-sequence forward', () => {
    const m = make({ gate: 'lstm', configuration: 'dual' });
    scaleUp(m);
    const x = new Rng(3).normalTensor([1, 12, D]);
    const whole = m.forward(x, ctx);
    const { y, state } = seq(m, x, [3, 3, 3, 3]);
    expectTensorsClose(y, whole, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, whole, y]);
    state.dispose();
    m.dispose();
  });
});

describe('decoding', () => {
  it('step with 1..4 tokens at a time (crossing block boundaries) == forward, for every configuration', () => {
    for (const configuration of ['skip', 'dual', 'single'] as const) {
      const m = make({ gate: 'lstm', configuration });
      scaleUp(m);
      const x = new Rng(13).normalTensor([2, 11, D]);
      const full = m.forward(x, ctx);
      let state = m.initState(2);
      const ys: tf.Tensor[] = [];
      let at = 0;
      for (const n of [1, 1, 2, 4, 1, 2]) {
        const xs = tf.slice(x, [0, at, 0], [-1, n, -1]);
        const [y, next] = m.step(xs, state, { training: false, rng: new Rng(0), layerIndex: 0, positions: undefined as never, scratch: new Map() });
        ys.push(y);
        xs.dispose();
        state = next;
        at += n;
      }
      const stepped = tf.concat(ys, 1);
      expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([x, full, stepped, ...ys]);
      state.dispose();
      m.dispose();
    }
  });
});

describe('paper properties', () => {
  it('the state carries information beyond the window: block 1 changes block 4 only when S > 0', () => {
    const x = new Rng(4).normalTensor([1, 12, D]);
    const x2 = tf.concat([new Rng(40).normalTensor([1, 3, D]), tf.slice(x, [0, 3, 0], [1, 9, D])], 1); // new block 1
    const lastBlockDiff = (m: BlockRecurrentMixer) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(m.forward(x, ctx), [0, 9, 0], [1, 3, D]), tf.slice(m.forward(x2, ctx), [0, 9, 0], [1, 3, D])))).dataSync()[0]);
    const rec = make();
    scaleUp(rec);
    const slide = make({ stateSize: 0 });
    scaleUp(slide);
    expect(lastBlockDiff(rec)).toBeGreaterThan(1e-4);
    expect(lastBlockDiff(slide)).toBeLessThan(1e-6); // positions 9..11 see 7..11 only
    tf.dispose([x, x2]);
    rec.dispose();
    slide.dispose();
  });

  it('is causal across blocks: changing token t+1.. leaves outputs up to t unchanged', () => {
    const m = make({ gate: 'lstm', configuration: 'dual' });
    scaleUp(m);
    const x = new Rng(5).normalTensor([2, 11, D]);
    for (const t of [2, 4, 7]) {
      const x2 = tf.concat([tf.slice(x, [0, 0, 0], [2, t + 1, D]), new Rng(50 + t).normalTensor([2, 10 - t, D])], 1);
      const a = tf.slice(m.forward(x, ctx), [0, 0, 0], [2, t + 1, D]);
      const b = tf.slice(m.forward(x2, ctx), [0, 0, 0], [2, t + 1, D]);
      expectTensorsClose(a, b, { atol: 1e-6, rtol: 1e-6 });
      tf.dispose([x2, a, b]);
    }
    x.dispose();
    m.dispose();
  });

  it('closed fixed gates (σ(b_g) → 1) keep the learned initial state c_0', () => {
    const m = make();
    scaleUp(m);
    m.gate1!.bias!.assign(tf.fill([D], 40));
    const x = new Rng(6).normalTensor([2, 9, D]);
    const { y, state } = seq(m, x, [3, 6]);
    expectTensorsClose(state.state!, tf.stack([m.stateInit!, m.stateInit!]), { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([x, y]);
    state.dispose();
    m.dispose();
  });

  it('the carried state has a constant size: S·D + 2·W·H·Dh floats per sequence, whatever the length', () => {
    const m = make();
    const sizes = [3, 12, 30].map((L) => {
      const x = new Rng(L).normalTensor([1, L, D]);
      const { y, state } = seq(m, x, Array.from({ length: L / 3 }, () => 3));
      const bytes = state.bytes();
      tf.dispose([x, y]);
      state.dispose();
      return bytes;
    });
    expect(sizes).toEqual([(3 * D + 2 * W * H * Dh) * 4, (3 * D + 2 * W * H * Dh) * 4, (3 * D + 2 * W * H * Dh) * 4]);
    m.dispose();
  });

  it('gradients reach earlier blocks through the state within a segment, and stop at segment boundaries', () => {
    const m = make({ gate: 'lstm', configuration: 'skip' });
    scaleUp(m);
    const x1 = new Rng(7).normalTensor([1, 3, D]); // block 1
    const x2 = new Rng(8).normalTensor([1, 6, D]); // blocks 2 and 3
    // one segment: block 3's outputs (positions 6..8 see 4..8 only) depend on block 1 through the state
    const within = tf.grad((a: tf.Tensor) => tf.sum(tf.slice(m.forward(tf.concat([a, x2], 1), ctx), [0, 6, 0], [1, 3, D])))(x1);
    expect(tf.max(tf.abs(within)).dataSync()[0]).toBeGreaterThan(1e-4);
    // two segments: the state handed over is detached
    const across = tf.grad((a: tf.Tensor) => {
      const [, s1] = m.forwardSegment(a, m.initState(1), ctx);
      const [y, s2] = m.forwardSegment(x2, s1, ctx);
      s2.dispose();
      return tf.add(tf.sum(y), tf.mul(0, tf.sum(a))); // keep a on the tape: its gradient is 0 + whatever crosses the boundary
    })(x1);
    expect(tf.max(tf.abs(across)).dataSync()[0]).toBe(0);
    tf.dispose([x1, x2, within, across]);
    m.dispose();
  });

  it('gradCheck: analytic gradients wrt the input and the carried state match finite differences (two blocks)', () => {
    const m = make({ stateSize: 2, gate: 'lstm', configuration: 'dual', ffnHidden: 6 });
    scaleUp(m);
    const x = new Rng(9).normalTensor([1, 5, D]);
    const c = new Rng(12).normalTensor([1, 2, D]);
    const w = new Rng(10).normalTensor([1, 5, D]);
    const f = (xi: tf.Tensor, ci: tf.Tensor): tf.Scalar =>
      tf.tidy(() => {
        const [y, next] = m.forwardSegment(xi, new BlockRecurrentState(tf.clone(ci), undefined, undefined), ctx);
        next.dispose();
        return tf.sum(tf.mul(y, w)) as tf.Scalar;
      });
    const r = gradCheck(f, [x, c], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    expect(r.maxAbsError).toBeLessThan(2e-2);
    tf.dispose([x, c, w]);
    m.dispose();
  });
});
