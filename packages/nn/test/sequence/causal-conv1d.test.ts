/**
 * Causal depthwise conv1d and segment resets against naive loops written here:
 *   y[b, t, e] = bias[e] + Σ_k w[k, e] · x[b, t − (K−1) + k, e]   (x at negative times = state)
 * with the tap of lag j = K−1−k dropped when token t − j (t − j ≥ 0) is in another segment.
 */
import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { causalConv1d, crossesSegment, segmentCausalConv1d, segmentStarts } from '@weft/nn';

beforeAll(() => useBackend('cpu'));

function naiveConv(x: Float32Array, w: Float32Array, bias: Float32Array | null, state: Float32Array | null, seg: number[][] | null, B: number, L: number, E: number, K: number): Float64Array {
  const y = new Float64Array(B * L * E);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      for (let e = 0; e < E; e++) {
        let acc = bias ? bias[e]! : 0;
        for (let k = 0; k < K; k++) {
          const s = t - (K - 1) + k; // input time of tap k
          let v = 0;
          if (s >= 0) {
            if (seg && seg[b]![s] !== seg[b]![t]) continue;
            v = x[(b * L + s) * E + e]!;
          } else if (state) {
            v = state[(b * (K - 1) + (K - 1 + s)) * E + e]!;
          }
          acc += w[k * E + e]! * v;
        }
        y[(b * L + t) * E + e] = acc;
      }
    }
  }
  return y;
}

describe('crossesSegment / segmentStarts', () => {
  it('mark t where token t − lag exists and belongs to another segment', () => {
    const ids = [
      [0, 0, 1, 1, 1, 2, 2],
      [4, 4, 4, 4, 5, 5, 6],
    ];
    const idsT = tf.tensor(ids.flat(), [2, 7], 'int32');
    for (const lag of [1, 2, 3, 7, 9]) {
      const want = ids.flatMap((row) => row.map((s, t) => (t >= lag && row[t - lag] !== s ? 1 : 0)));
      const got = crossesSegment(idsT, lag);
      expect(Array.from(got.dataSync())).toEqual(want);
      got.dispose();
    }
    const starts = segmentStarts(idsT);
    expect(Array.from(starts.dataSync())).toEqual(ids.flatMap((row) => row.map((s, t) => (t > 0 && row[t - 1] !== s ? 1 : 0))));
    tf.dispose([idsT, starts]);
  });
});

describe('causalConv1d (causal depthwise conv with a carried window)', () => {
  it.each([
    [1, 5],
    [3, 1],
    [4, 9],
    [4, 2],
  ])('equals a naive loop (K = %i, L = %i), with and without a carried state and bias', (K, L) => {
    const [B, E] = [2, 3];
    const rng = new Rng(K * 10 + L);
    const xs = rng.normalArray(B * L * E);
    const ws = rng.normalArray(K * E);
    const bs = rng.normalArray(E);
    const ss = rng.normalArray(B * (K - 1) * E);
    const [x, w, bias, state] = [tf.tensor(xs, [B, L, E]), tf.tensor(ws, [K, E]), tf.tensor(bs, [E]), tf.tensor(ss, [B, K - 1, E])];
    const plain = causalConv1d(x, w);
    expectTensorsClose(plain.y, naiveConv(xs, ws, null, null, null, B, L, E, K), { atol: 1e-5, rtol: 1e-5 });
    const carried = causalConv1d(x, w, bias, state);
    expectTensorsClose(carried.y, naiveConv(xs, ws, bs, ss, null, B, L, E, K), { atol: 1e-5, rtol: 1e-5 });
    // The next state is the last K−1 inputs of [state, x].
    const all = [...Array(B)].flatMap((_, b) => [...Array(K - 1 + L)].map((_, i) => (i < K - 1 ? Array.from(ss.slice((b * (K - 1) + i) * E, (b * (K - 1) + i + 1) * E)) : Array.from(xs.slice((b * L + i - (K - 1)) * E, (b * L + i - (K - 1) + 1) * E)))));
    const wantState = [...Array(B)].flatMap((_, b) => all.slice(b * (K - 1 + L) + L, (b + 1) * (K - 1 + L)).flat());
    expectTensorsClose(carried.state, wantState, { atol: 0, rtol: 0 });
    tf.dispose([x, w, bias, state, plain.y, plain.state, carried.y, carried.state]);
  });

  it('chunked calls with the carried state equal one call (the decoding form)', () => {
    const [B, L, E, K] = [2, 7, 3, 4];
    const rng = new Rng(2);
    const x = rng.normalTensor([B, L, E]);
    const w = rng.normalTensor([K, E]);
    const bias = rng.normalTensor([E]);
    const full = causalConv1d(x, w, bias);
    let state: tf.Tensor | undefined;
    const ys: tf.Tensor[] = [];
    for (const [start, len] of [
      [0, 2],
      [2, 1],
      [3, 4],
    ] as const) {
      const out = causalConv1d(tf.slice(x, [0, start, 0], [B, len, E]), w, bias, state);
      state?.dispose();
      state = out.state;
      ys.push(out.y);
    }
    const chunked = tf.concat(ys, 1);
    expectTensorsClose(chunked, full.y, { atol: 1e-6, rtol: 1e-6 });
    expectTensorsClose(state!, full.state, { atol: 0, rtol: 0 });
    tf.dispose([x, w, bias, full.y, full.state, state!, chunked, ...ys]);
  });

  it('segmentCausalConv1d drops every tap that reaches into another packed sequence', () => {
    const [B, L, E, K] = [2, 8, 2, 4];
    const rng = new Rng(3);
    const xs = rng.normalArray(B * L * E);
    const ws = rng.normalArray(K * E);
    const bs = rng.normalArray(E);
    const ss = rng.normalArray(B * (K - 1) * E);
    const seg = [
      [0, 0, 0, 1, 1, 2, 2, 2],
      [3, 4, 4, 4, 4, 4, 5, 5],
    ];
    const [x, w, bias, state, ids] = [tf.tensor(xs, [B, L, E]), tf.tensor(ws, [K, E]), tf.tensor(bs, [E]), tf.tensor(ss, [B, K - 1, E]), tf.tensor(seg.flat(), [B, L], 'int32')];
    const y = segmentCausalConv1d(x, w, bias, ids);
    expectTensorsClose(y, naiveConv(xs, ws, bs, null, seg, B, L, E, K), { atol: 1e-5, rtol: 1e-5 });
    // A carried state continues the row's first sequence.
    const yc = segmentCausalConv1d(x, w, bias, ids, state);
    expectTensorsClose(yc, naiveConv(xs, ws, bs, ss, seg, B, L, E, K), { atol: 1e-5, rtol: 1e-5 });
    // One segment per row: identical to the plain conv.
    const one = tf.zeros([B, L], 'int32');
    const same = segmentCausalConv1d(x, w, bias, one);
    const plain = causalConv1d(x, w, bias);
    expectTensorsClose(same, plain.y, { atol: 0, rtol: 0 });
    tf.dispose([x, w, bias, state, ids, y, yc, one, same, plain.y, plain.state]);
  });

  it('has finite-difference gradients for x, weight, bias and state (with segments)', () => {
    const [B, L, E, K] = [1, 5, 2, 3];
    const rng = new Rng(4);
    const ins = [rng.normalTensor([B, L, E]), rng.normalTensor([K, E]), rng.normalTensor([E]), rng.normalTensor([B, K - 1, E])];
    const wy = rng.normalTensor([B, L, E]);
    const ids = tf.tensor([[0, 0, 1, 1, 1]], [B, L], 'int32');
    gradCheck((x, w, b, s) => tf.sum(tf.mul(causalConv1d(x, w, b, s).y, wy)) as tf.Scalar, ins, { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    gradCheck((x, w, b, s) => tf.sum(tf.mul(segmentCausalConv1d(x, w, b, ids, s), wy)) as tf.Scalar, ins, { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    // The next window (one new token, K − 1 = 2) takes the old window's tail and the new input.
    const x1 = rng.normalTensor([B, 1, E]);
    const ws = rng.normalTensor([B, K - 1, E]);
    gradCheck((x, s) => tf.sum(tf.mul(causalConv1d(x, ins[1]!, undefined, s).state, ws)) as tf.Scalar, [x1, ins[3]!], { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    tf.dispose([...ins, wy, ids, x1, ws]);
  });

  it('names the shapes it expects and does not leak tensors', () => {
    const x = tf.zeros([1, 4, 3]);
    const w = tf.ones([2, 3]);
    expect(() => causalConv1d(x, tf.ones([2, 5]))).toThrow(/weight \[K, E\].*weight \[2,5\]/);
    expect(() => causalConv1d(x, w, undefined, tf.zeros([1, 3, 3]))).toThrow(/state must be \[B, K−1, E\] = \[1,1,3\]/);
    expect(() => segmentCausalConv1d(x, w, undefined, tf.zeros([1, 3]))).toThrow(/segmentIds must be \[B, L\] = \[1,4\]/);
    const ids = tf.tensor([[0, 1, 1, 2]], [1, 4], 'int32');
    expect(
      leakedTensors(() => {
        const out = causalConv1d(x, w);
        tf.dispose([out.y, out.state, segmentCausalConv1d(x, w, undefined, ids)]);
      }),
    ).toBe(0);
    tf.dispose([x, w, ids]);
  });
});
