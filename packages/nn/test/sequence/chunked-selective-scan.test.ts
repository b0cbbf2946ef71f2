/**
 * chunkedSelectiveScan against references written here:
 *   a_t = exp(Δ_t ⊗ A) ('exp') or 1 − ε_t ⊗ κ_t ('oneMinus'), a_t := 0 where resets_t = 1,
 *   h_t = a_t ⊙ h_{t−1} + v_t ⊗ k_t,  h_{−1} = h0,  y_t = h_t q_t + D ⊙ u_t.
 * Values: a float64 loop. Gradients: tfjs autodiff of a step-by-step tf implementation, and
 * finite differences. Memory: the peak of forward + backward against one [B, L, E, N] tensor.
 */
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { chunkedSelectiveScan, type SelectiveDecay } from '@weft/nn';

type Kind = SelectiveDecay['kind'];

interface Case {
  kind: Kind;
  B: number;
  L: number;
  E: number;
  N: number;
  rate: Float32Array; // Δ or ε  [B, L, E]
  mat: Float32Array; // A [E, N] or κ [B, L, N]
  v: Float32Array; // [B, L, E]
  k: Float32Array; // [B, L, N]
  q: Float32Array; // [B, L, N]
  h0: Float32Array; // [B, E, N]
  D: Float32Array; // [E]
  u: Float32Array; // [B, L, E]
  resets: number[]; // [B, L]
}

function makeCase(kind: Kind, B: number, L: number, E: number, N: number, seed: number): Case {
  const rng = new Rng(seed);
  const [BLE, BLN] = [B * L * E, B * L * N];
  return {
    kind,
    B,
    L,
    E,
    N,
    rate: kind === 'exp' ? rng.uniformArray(BLE, 0.05, 0.6) : rng.uniformArray(BLE, 0.05, 0.5),
    mat: kind === 'exp' ? rng.uniformArray(E * N, -2, -0.1) : rng.uniformArray(BLN, 0, 1),
    v: rng.normalArray(BLE),
    k: rng.normalArray(BLN),
    q: rng.normalArray(BLN),
    h0: rng.normalArray(B * E * N),
    D: rng.normalArray(E),
    u: rng.normalArray(BLE),
    resets: Array.from({ length: B * L }, (_, i) => (i % L === 4 || i % L === 9 ? 1 : 0)),
  };
}

/** The case's tensors: [rate, mat, v, k, q, h0, D, u, resets]. */
function tensors(c: Case): tf.Tensor[] {
  const { B, L, E, N } = c;
  return [
    tf.tensor(c.rate, [B, L, E]),
    c.kind === 'exp' ? tf.tensor(c.mat, [E, N]) : tf.tensor(c.mat, [B, L, N]),
    tf.tensor(c.v, [B, L, E]),
    tf.tensor(c.k, [B, L, N]),
    tf.tensor(c.q, [B, L, N]),
    tf.tensor(c.h0, [B, E, N]),
    tf.tensor(c.D, [E]),
    tf.tensor(c.u, [B, L, E]),
    tf.tensor(c.resets, [B, L]),
  ];
}

function decayOf(kind: Kind, rate: tf.Tensor, mat: tf.Tensor): SelectiveDecay {
  return kind === 'exp' ? { kind, delta: rate, A: mat } : { kind, eps: rate, kappa: mat };
}

/** The float64 loop: y [B, L, E] and the last state [B, E, N]. */
function naive(c: Case, withH0: boolean, withResets: boolean): { y: Float64Array; last: Float64Array } {
  const { B, L, E, N } = c;
  const y = new Float64Array(B * L * E);
  const last = new Float64Array(B * E * N);
  for (let b = 0; b < B; b++) {
    for (let e = 0; e < E; e++) {
      for (let n = 0; n < N; n++) {
        let h = withH0 ? c.h0[(b * E + e) * N + n]! : 0;
        for (let t = 0; t < L; t++) {
          const bt = b * L + t;
          const rate = c.rate[bt * E + e]!;
          let a = c.kind === 'exp' ? Math.exp(rate * c.mat[e * N + n]!) : 1 - rate * c.mat[bt * N + n]!;
          if (withResets && c.resets[bt]) a = 0;
          h = a * h + c.v[bt * E + e]! * c.k[bt * N + n]!;
          y[bt * E + e] += h * c.q[bt * N + n]!;
        }
        last[(b * E + e) * N + n] = h;
      }
    }
    for (let t = 0; t < L; t++) for (let e = 0; e < E; e++) y[(b * L + t) * E + e] += c.D[e]! * c.u[(b * L + t) * E + e]!;
  }
  return { y, last };
}

/** Step-by-step tf implementation (autodiff reference): y [B, L, E] and the last state [B, E, N]. */
function sequential(kind: Kind, rate: tf.Tensor, mat: tf.Tensor, v: tf.Tensor, k: tf.Tensor, q: tf.Tensor, h0: tf.Tensor, D: tf.Tensor, u: tf.Tensor, resets: tf.Tensor) {
  const [B, L, E] = rate.shape as [number, number, number];
  const N = k.shape[2]!;
  const at = (x: tf.Tensor, t: number) => tf.squeeze(tf.slice(x, [0, t, 0], [B, 1, x.shape[2]!]), [1]); // [B, X]
  let h = h0;
  const ys: tf.Tensor[] = [];
  for (let t = 0; t < L; t++) {
    const r = tf.reshape(at(rate, t), [B, E, 1]);
    let a = kind === 'exp' ? tf.exp(tf.mul(r, mat)) : tf.sub(1, tf.mul(r, tf.reshape(at(mat, t), [B, 1, N])));
    a = tf.mul(a, tf.reshape(tf.sub(1, tf.slice(resets, [0, t], [B, 1])), [B, 1, 1]));
    h = tf.add(tf.mul(a, h), tf.mul(tf.reshape(at(v, t), [B, E, 1]), tf.reshape(at(k, t), [B, 1, N])));
    ys.push(tf.sum(tf.mul(h, tf.reshape(at(q, t), [B, 1, N])), 2));
  }
  return { y: tf.add(tf.stack(ys, 1), tf.mul(u, D)), last: h };
}

describeWithBackends('chunkedSelectiveScan', () => {
  describe.each(['exp', 'oneMinus'] as const)('decay %s', (kind) => {
    it.each([1, 3, 4, 10, 25])('equals the float64 loop with chunk %i (L = 10), with and without h0 and resets', (chunk) => {
      const c = makeCase(kind, 2, 10, 3, 4, chunk + (kind === 'exp' ? 0 : 100));
      const [rate, mat, v, k, q, h0, D, u, resets] = tensors(c);
      for (const full of [false, true]) {
        const got = chunkedSelectiveScan({ decay: decayOf(kind, rate!, mat!), v: v!, k: k!, q: q!, skip: { D: D!, u: u! }, h0: full ? h0 : undefined, resets: full ? resets : undefined, chunk });
        const want = naive(c, full, full);
        expect(got.y.shape).toEqual([2, 10, 3]);
        expect(got.last.shape).toEqual([2, 3, 4]);
        expectTensorsClose(got.y, want.y, { atol: 1e-4, rtol: 1e-4 });
        expectTensorsClose(got.last, want.last, { atol: 1e-4, rtol: 1e-4 });
        tf.dispose([got.y, got.last]);
      }
      tf.dispose([rate!, mat!, v!, k!, q!, h0!, D!, u!, resets!]);
    });

    it.each([1, 3, 16])('gradients equal autodiff of the step-by-step recurrence (chunk %i, L = 7, h0, resets, ∂last)', (chunk) => {
      const c = makeCase(kind, 2, 7, 3, 2, 40 + chunk);
      const ts = tensors(c);
      const resets = ts[8]!;
      const rng = new Rng(7);
      const wy = rng.normalTensor([2, 7, 3]);
      const wl = rng.normalTensor([2, 3, 2]);
      const loss = (out: { y: tf.Tensor; last: tf.Tensor }) => tf.add(tf.sum(tf.mul(out.y, wy)), tf.sum(tf.mul(out.last, wl))) as tf.Scalar;
      const got = tf.grads((rate, mat, v, k, q, h0, D, u) => loss(chunkedSelectiveScan({ decay: decayOf(kind, rate!, mat!), v: v!, k: k!, q: q!, skip: { D: D!, u: u! }, h0, resets, chunk })))(ts.slice(0, 8));
      const want = tf.grads((rate, mat, v, k, q, h0, D, u) => loss(sequential(kind, rate!, mat!, v!, k!, q!, h0!, D!, u!, resets)))(ts.slice(0, 8));
      got.forEach((g, i) => expectTensorsClose(g, want[i]!, { atol: 1e-4, rtol: 1e-4 }));
      tf.dispose([...ts, wy, wl, ...got, ...want]);
    });

    it('has finite-difference gradients (chunk 2, L = 5, h0 and a reset)', () => {
      const c = makeCase(kind, 1, 5, 2, 2, 77);
      c.resets = [0, 0, 0, 1, 0];
      const ts = tensors(c);
      const resets = ts[8]!;
      const wy = new Rng(3).normalTensor([1, 5, 2]);
      gradCheck(
        (rate, mat, v, k, q, h0) => tf.sum(tf.mul(chunkedSelectiveScan({ decay: decayOf(kind, rate!, mat!), v: v!, k: k!, q: q!, h0, resets, chunk: 2 }).y, wy)) as tf.Scalar,
        ts.slice(0, 6),
        { eps: 1e-2, atol: 2e-2, rtol: 2e-2 },
      );
      tf.dispose([...ts, wy]);
    });

    it('does not leak tensors in the forward or the backward', () => {
      const ts = tensors(makeCase(kind, 1, 6, 2, 3, 5));
      const [rate, mat, v, k, q, h0, , , resets] = ts;
      expect(
        leakedTensors(() => {
          const out = chunkedSelectiveScan({ decay: decayOf(kind, rate!, mat!), v: v!, k: k!, q: q!, h0, resets, chunk: 4 });
          tf.dispose([out.y, out.last]);
          const g = tf.grads((r, m, vv, kk, qq, hh) => tf.sum(chunkedSelectiveScan({ decay: decayOf(kind, r!, m!), v: vv!, k: kk!, q: qq!, h0: hh, resets, chunk: 4 }).y) as tf.Scalar)([rate!, mat!, v!, k!, q!, h0!]);
          tf.dispose(g);
        }),
      ).toBe(0);
      tf.dispose(ts);
    });
  });

  it('names the field, its shape and the fix when an input is malformed', () => {
    const ts = tensors(makeCase('oneMinus', 2, 5, 3, 4, 1));
    const [rate, mat, v, k, q] = ts;
    const decay = decayOf('oneMinus', rate!, mat!);
    tf.tidy(() => {
      expect(() => chunkedSelectiveScan({ decay, v: v!, k: k!, q: tf.zeros([2, 5, 3]) })).toThrow(/chunkedSelectiveScan: q must be \[2,5,4\].*got \[2,5,3\]/);
      expect(() => chunkedSelectiveScan({ decay: { kind: 'exp', delta: rate!, A: tf.zeros([4, 3]) }, v: v!, k: k!, q: q! })).toThrow(/decay\.A must be \[3,4\]/);
      expect(() => chunkedSelectiveScan({ decay, v: v!, k: k!, q: q!, h0: tf.zeros([2, 4, 3]) })).toThrow(/h0 must be \[2,3,4\]/);
      expect(() => chunkedSelectiveScan({ decay, v: v!, k: k!, q: q!, chunk: 0 })).toThrow(/chunk must be a positive integer.*got 0/);
    }); // frees the malformed tensors
    tf.dispose(ts);
  });
});

// Byte accounting is tfjs's engine-level count, the same on every backend: measured once, on wasm (fast).
describeWithBackends(
  'chunkedSelectiveScan memory',
  () => {
    it('keeps the peak of forward + backward well below one [B, L, E, N] tensor', async () => {
      // E = N so that [B, L, E, N] dominates the [B, L, E] / [B, L, N] inputs and their gradients.
      const [B, L, E, N, chunk] = [1, 512, 128, 128, 8];
      const full = B * L * E * N * 4; // bytes of one [B, L, E, N] float32 tensor (32 MiB)
      const c = makeCase('exp', B, L, E, N, 11);
      const [rate, mat, v, k, q] = tensors(c);
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => {
        const g = tf.grads((r, m, vv, kk, qq) => tf.sum(chunkedSelectiveScan({ decay: { kind: 'exp', delta: r!, A: m! }, v: vv!, k: kk!, q: qq!, chunk }).y) as tf.Scalar)([rate!, mat!, v!, k!, q!]);
        tf.dispose(g);
      });
      // Held (engine byte count, deterministic; ≈ 0.45 full): the saved boundary states
      // ([B, L/chunk, E, N] = full / 64), a few [B, chunk, E, N] inside a chunk, and the [B, L, E] /
      // [B, L, N] gradients. The whole-sequence Hillis–Steele scan holds about 2·log2 L full tensors.
      expect(info.peakBytes - before).toBeLessThan(0.5 * full);
      tf.dispose([rate!, mat!, v!, k!, q!]);
    });
  },
  ['wasm'],
);
