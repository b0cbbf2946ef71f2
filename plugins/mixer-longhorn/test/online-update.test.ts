/**
 * The Longhorn recurrence against references written here from the paper's objective:
 *   - a plain float64 loop of S_t = (1 − ε⊗k²)⊙S_{t−1} + (ε⊙x)⊗k, y = S q + D x, ⊙ silu(z);
 *   - a brute-force solve of the per-step objective min_s ‖s − s_prev‖² + β (sᵀk − x)² per channel.
 */
import { Rng, tf, useBackend } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck } from '@weft/core/testing';
import { longhornRecurrent, longhornScan, longhornStepSize } from '../src/index.js';

interface Arrays {
  x: Float32Array; beta: Float32Array; k: Float32Array; q: Float32Array; D: Float32Array; z: Float32Array; h0: Float32Array; resets: Float32Array;
}

/** The recurrence as loops over [B, L, E] / [B, L, N] / [B, E, N] arrays (float64). */
function naiveLonghorn(a: Arrays, B: number, L: number, E: number, N: number, use: { h0: boolean; resets: boolean }) {
  const y = new Float64Array(B * L * E);
  const last = new Float64Array(B * E * N);
  for (let b = 0; b < B; b++) {
    const S = new Float64Array(E * N);
    if (use.h0) for (let i = 0; i < E * N; i++) S[i] = a.h0[b * E * N + i];
    for (let t = 0; t < L; t++) {
      if (use.resets && a.resets[b * L + t] === 1) S.fill(0);
      let kk = 0;
      for (let n = 0; n < N; n++) kk += a.k[(b * L + t) * N + n] ** 2;
      for (let e = 0; e < E; e++) {
        const i = (b * L + t) * E + e;
        const eps = a.beta[i] / (1 + a.beta[i] * kk);
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const kn = a.k[(b * L + t) * N + n];
          S[e * N + n] = (1 - eps * kn * kn) * S[e * N + n] + eps * a.x[i] * kn;
          acc += S[e * N + n] * a.q[(b * L + t) * N + n];
        }
        const zi = a.z[i];
        y[i] = (acc + a.D[e] * a.x[i]) * (zi / (1 + Math.exp(-zi)));
      }
    }
    last.set(S, b * E * N);
  }
  return { y, last };
}

function randomArrays(rng: Rng, B: number, L: number, E: number, N: number): Arrays {
  const resets = new Float32Array(B * L);
  resets[3] = 1; // row 0: a new sequence at t = 3
  resets[L + 7] = 1; // row 1: at t = 7
  return {
    x: rng.normalArray(B * L * E), beta: rng.uniformArray(B * L * E, 0.05, 0.95), k: rng.normalArray(B * L * N), q: rng.normalArray(B * L * N),
    D: rng.normalArray(E), z: rng.normalArray(B * L * E), h0: rng.normalArray(B * E * N), resets,
  };
}

describeWithBackends('longhorn recurrence', () => {
  const [B, L, E, N] = [2, 13, 3, 5];
  it.each([
    ['zero state', { h0: false, resets: false }],
    ['carried state h0', { h0: true, resets: false }],
    ['segment resets and h0', { h0: true, resets: true }],
  ])('parallel scan == sequential step == a naive loop (%s, L = 13)', (_name, use) => {
    const a = randomArrays(new Rng(21), B, L, E, N);
    const ref = naiveLonghorn(a, B, L, E, N, use);
    const t = (v: Float32Array, s: number[]) => tf.tensor(v, s);
    const ins = { x: t(a.x, [B, L, E]), beta: t(a.beta, [B, L, E]), k: t(a.k, [B, L, N]), q: t(a.q, [B, L, N]), D: t(a.D, [E]), z: t(a.z, [B, L, E]) };
    const h0 = use.h0 ? t(a.h0, [B, E, N]) : undefined;
    const resets = use.resets ? t(a.resets, [B, L]) : undefined;
    const par = longhornScan({ ...ins, h0, resets });
    expectTensorsClose(par.y, ref.y, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(par.last, ref.last, { atol: 1e-5, rtol: 1e-4 });
    const chunked = longhornScan({ ...ins, h0, resets, chunk: 4 }); // chunks of 4, 4, 4, 1 steps; the resets at t = 3 and 7 fall on the last step of a chunk
    expectTensorsClose(chunked.y, ref.y, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(chunked.last, ref.last, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([chunked.y, chunked.last]);
    if (!use.resets) {
      const S0 = h0 ?? tf.zeros([B, E, N]);
      const seq = longhornRecurrent({ ...ins, S0 });
      expectTensorsClose(seq.y, ref.y, { atol: 1e-5, rtol: 1e-4 });
      expectTensorsClose(seq.last, ref.last, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([seq.y, seq.last, S0]);
    }
    tf.dispose([...Object.values(ins), h0, resets, par.y, par.last].filter((v): v is tf.Tensor => v !== undefined));
  });
});

/** Solve the per-channel objective by Gaussian elimination on (I + β k kᵀ) s = s_prev + β x k. */
function bruteForceMinimiser(Sprev: Float32Array, k: Float32Array, x: Float32Array, beta: Float32Array, E: number, N: number): Float64Array {
  const out = new Float64Array(E * N);
  for (let e = 0; e < E; e++) {
    const M = Array.from({ length: N }, (_, i) => Array.from({ length: N + 1 }, (_, j) => (j === N ? Sprev[e * N + i] + beta[e] * x[e] * k[i] : (i === j ? 1 : 0) + beta[e] * k[i] * k[j])));
    for (let c = 0; c < N; c++) {
      let p = c;
      for (let r = c + 1; r < N; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
      [M[c], M[p]] = [M[p], M[c]];
      for (let r = 0; r < N; r++) {
        if (r === c) continue;
        const f = M[r][c] / M[c][c];
        for (let j = c; j <= N; j++) M[r][j] -= f * M[c][j];
      }
    }
    for (let i = 0; i < N; i++) out[e * N + i] = M[i][N] / M[i][i];
  }
  return out;
}

/** ∇_S of Σ_i ‖s_i − s_prev,i‖² + β_i (s_iᵀk − x_i)². */
function objectiveGradient(S: ArrayLike<number>, Sprev: Float32Array, k: Float32Array, x: Float32Array, beta: Float32Array, E: number, N: number): Float64Array {
  const g = new Float64Array(E * N);
  for (let e = 0; e < E; e++) {
    let r = -x[e];
    for (let n = 0; n < N; n++) r += S[e * N + n] * k[n];
    for (let n = 0; n < N; n++) g[e * N + n] = 2 * (S[e * N + n] - Sprev[e * N + n]) + 2 * beta[e] * r * k[n];
  }
  return g;
}

describe('the update solves the per-step online regression objective', () => {
  beforeAll(() => useBackend('cpu'));
  const [E, N] = [4, 6];

  /** One Longhorn step from S_prev: S_1 [E, N]. */
  function longhornUpdate(Sprev: Float32Array, k: Float32Array, x: Float32Array, beta: Float32Array): Float32Array {
    return tf.tidy(() => {
      const zeros = tf.zeros([1, 1, N]);
      const { last } = longhornRecurrent({ x: tf.tensor(x, [1, 1, E]), beta: tf.tensor(beta, [1, 1, E]), k: tf.tensor(k, [1, 1, N]), q: zeros, S0: tf.tensor(Sprev, [1, E, N]) });
      return last.dataSync() as Float32Array;
    });
  }

  it('the brute-force solve is the minimiser (its objective gradient is ~0)', () => {
    const rng = new Rng(3);
    const [Sprev, k, x, beta] = [rng.normalArray(E * N), rng.normalArray(N), rng.normalArray(E), rng.uniformArray(E, 0.1, 0.9)];
    const grad = objectiveGradient(bruteForceMinimiser(Sprev, k, x, beta, E, N), Sprev, k, x, beta, E, N);
    expect(Math.max(...Array.from(grad, Math.abs))).toBeLessThan(1e-9);
  });

  it('from a zero state, and whenever k has one non-zero entry (k kᵀ diagonal), the Longhorn update IS the minimiser', () => {
    const rng = new Rng(4);
    const x = rng.normalArray(E);
    const beta = rng.uniformArray(E, 0.1, 0.9);
    const dense = rng.normalArray(N);
    const oneHot = new Float32Array(N);
    oneHot[2] = 1.7;
    for (const [Sprev, k] of [[new Float32Array(E * N), dense], [rng.normalArray(E * N), oneHot]] as const) {
      const S1 = longhornUpdate(Sprev, k, x, beta);
      expectTensorsClose(S1, bruteForceMinimiser(Sprev, k, x, beta, E, N), { atol: 1e-5, rtol: 1e-5 });
      expect(Math.max(...Array.from(objectiveGradient(S1, Sprev, k, x, beta, E, N), Math.abs))).toBeLessThan(1e-4);
    }
  });

  it('in general it differs from the minimiser by exactly the dropped off-diagonal term ε (k kᵀ − diag(k²)) s_prev', () => {
    const rng = new Rng(5);
    const [Sprev, k, x, beta] = [rng.normalArray(E * N), rng.normalArray(N), rng.normalArray(E), rng.uniformArray(E, 0.1, 0.9)];
    const S1 = longhornUpdate(Sprev, k, x, beta);
    const exact = bruteForceMinimiser(Sprev, k, x, beta, E, N);
    const kk = k.reduce((s, v) => s + v * v, 0);
    const expected = new Float64Array(E * N);
    let differs = 0;
    for (let e = 0; e < E; e++) {
      const eps = beta[e] / (1 + beta[e] * kk);
      for (let i = 0; i < N; i++) {
        let off = 0;
        for (let j = 0; j < N; j++) if (j !== i) off += k[i] * k[j] * Sprev[e * N + j];
        expected[e * N + i] = exact[e * N + i] + eps * off;
        differs = Math.max(differs, Math.abs(S1[e * N + i] - exact[e * N + i]));
      }
    }
    expectTensorsClose(S1, expected, { atol: 1e-5, rtol: 1e-5 });
    expect(differs).toBeGreaterThan(1e-2); // the diagonal approximation is not silently the exact solve
  });

  it('ε = β / (1 + β kᵀk), and the decay 1 − ε k² stays in (0, 1] even for large keys', () => {
    const rng = new Rng(6);
    const beta = rng.uniformTensor([1, 4, 3], 0, 1);
    const k = tf.mul(rng.normalTensor([1, 4, 5]), 30);
    const eps = longhornStepSize(beta, k);
    const [bv, kv, ev] = [beta.dataSync(), k.dataSync(), eps.dataSync()];
    for (let t = 0; t < 4; t++) {
      let kk = 0;
      for (let n = 0; n < 5; n++) kk += kv[t * 5 + n] ** 2;
      for (let e = 0; e < 3; e++) {
        const want = bv[t * 3 + e] / (1 + bv[t * 3 + e] * kk);
        expect(ev[t * 3 + e]).toBeCloseTo(want, 6);
        for (let n = 0; n < 5; n++) {
          const decay = 1 - ev[t * 3 + e] * kv[t * 5 + n] ** 2;
          expect(decay).toBeGreaterThan(0);
          expect(decay).toBeLessThanOrEqual(1);
        }
      }
    }
    tf.dispose([beta, k, eps]);
  });

  it('scan gradients (x, β, k, q, h0) match finite differences', () => {
    const [B, L] = [1, 5];
    const rng = new Rng(8);
    const [E2, N2] = [2, 3];
    const D = rng.normalTensor([E2]);
    const z = rng.normalTensor([B, L, E2]);
    const w = rng.normalTensor([B, L, E2]);
    const resets = tf.tensor([[0, 0, 0, 1, 0]]);
    const ins = [rng.normalTensor([B, L, E2]), rng.uniformTensor([B, L, E2], 0.1, 0.9), rng.normalTensor([B, L, N2]), rng.normalTensor([B, L, N2]), rng.normalTensor([B, E2, N2])];
    gradCheck(
      (x, beta, k, q, h0) => {
        const { y, last } = longhornScan({ x, beta, k, q, D, z, h0, resets });
        return tf.add(tf.sum(tf.mul(y, w)), tf.sum(last)) as tf.Scalar;
      },
      ins,
      { eps: 1e-2, atol: 2e-2, rtol: 2e-2 },
    );
    tf.dispose([D, z, w, resets, ...ins]);
  });

  it('names the shapes it expects', () => {
    const x = tf.zeros([1, 3, 2]);
    const k = tf.zeros([1, 3, 4]);
    expect(() => longhornScan({ x, beta: tf.zeros([1, 3, 3]), k, q: k })).toThrow(/x, beta, z must be \[B, L, E\].*got x \[1,3,2\], beta \[1,3,3\]/);
    tf.dispose([x, k]);
  });
});
