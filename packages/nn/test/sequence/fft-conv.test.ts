/**
 * The matmul (four-step) DFT and fftCausalConv against references written here in float64:
 *   naive DFT        X[k] = Σ_n x[n] e^{−2πi nk/N}                         (O(N²) loop)
 *   naive inverse    x[n] = Re((1/N) Σ_k X[k] e^{2πi nk/N})
 *   naive conv       y[b, t, h] = Σ_{s ≤ t} K[h, t − s] · u[b, s, h]      (taps beyond Lk are 0)
 * plus finite-difference gradients, causality and tensor leaks, on cpu and wasm.
 */
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { causalLongConv, dft, fftCausalConv, fourStepSplit, idftReal, longConv, LONG_CONV_FFT_THRESHOLD } from '@weft/nn';

function naiveDft(x: ArrayLike<number>, M: number, N: number): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(M * N);
  const im = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < N; k++) {
      let r = 0;
      let i = 0;
      for (let n = 0; n < N; n++) {
        const a = (-2 * Math.PI * n * k) / N;
        r += x[m * N + n]! * Math.cos(a);
        i += x[m * N + n]! * Math.sin(a);
      }
      re[m * N + k] = r;
      im[m * N + k] = i;
    }
  return { re, im };
}

function naiveIdftReal(re: ArrayLike<number>, im: ArrayLike<number>, M: number, N: number): Float64Array {
  const x = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < N; k++) {
        const a = (2 * Math.PI * n * k) / N; // Re((re + i·im)(cos a + i sin a))
        acc += re[m * N + k]! * Math.cos(a) - im[m * N + k]! * Math.sin(a);
      }
      x[m * N + n] = acc / N;
    }
  return x;
}

function naiveConv(u: ArrayLike<number>, k: ArrayLike<number>, B: number, L: number, H: number, Lk: number): Float64Array {
  const y = new Float64Array(B * L * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < L; t++)
      for (let h = 0; h < H; h++) {
        let acc = 0;
        for (let s = Math.max(0, t - Lk + 1); s <= t; s++) acc += k[h * Lk + (t - s)]! * u[(b * L + s) * H + h]!;
        y[(b * L + t) * H + h] = acc;
      }
  return y;
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('fourStepSplit', () => {
  it('covers at least the requested size with N1 ≈ N2 ≈ √N', () => {
    for (const n of [1, 2, 3, 17, 100, 1999, 16383]) {
      const [n1, n2] = fourStepSplit(n);
      expect(n1 * n2).toBeGreaterThanOrEqual(n);
      expect(n1 * (n2 - 1)).toBeLessThan(n); // no whole spare row of N1 points
      expect(Math.abs(n1 - n2)).toBeLessThanOrEqual(1);
    }
  });
});

describeWithBackends('matmul DFT (four-step)', () => {
  it.each([
    [1, undefined],
    [7, undefined], // prime: N1 = 1, a single dense DFT
    [8, 2], // non-square splits
    [8, 4],
    [12, 3],
    [12, 2],
    [15, 5],
    [16, 4],
    [60, 5],
  ])('equals the naive O(N²) DFT (N = %i, N1 = %s)', (N, split) => {
    const M = 3;
    const xs = new Rng(N * 7 + (split ?? 0)).normalArray(M * N);
    const x = tf.tensor(xs, [M, N]);
    const X = dft(x, split);
    const ref = naiveDft(xs, M, N);
    const tol = { atol: 1e-5 * Math.max(1, maxAbs(ref.re), maxAbs(ref.im)), rtol: 1e-5 };
    expectTensorsClose(X.re, ref.re, tol);
    expectTensorsClose(X.im, ref.im, tol);
    tf.dispose([x, X.re, X.im]);
  });

  it.each([
    [6, 2],
    [12, 4],
    [20, 5],
  ])('inverse (real part) equals the naive inverse DFT of a complex spectrum (N = %i, N1 = %i)', (N, split) => {
    const M = 2;
    const rng = new Rng(N);
    const [res, ims] = [rng.normalArray(M * N), rng.normalArray(M * N)];
    const [re, im] = [tf.tensor(res, [M, N]), tf.tensor(ims, [M, N])];
    const x = idftReal({ re, im }, split);
    expectTensorsClose(x, naiveIdftReal(res, ims, M, N), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([re, im, x]);
  });

  it('names a split that does not divide N', () => {
    const x = tf.ones([2, 12]);
    expect(() => dft(x, 5)).toThrow(/split N1 must be a positive divisor of N = 12, got 5/);
    x.dispose();
  });
});

describeWithBackends('fftCausalConv (causal convolution by matmul FFT)', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [5, 2],
    [7, 7],
    [16, 16],
    [31, 9],
    [64, 64],
    [100, 37],
    [257, 257],
    [300, 500], // kernel longer than L: cut to its first L taps
    [1000, 1000],
  ])('equals the naive convolution loop (L = %i, kernel length %i)', (L, Lk) => {
    const [B, H] = L >= 300 ? [1, 2] : [2, 3];
    const rng = new Rng(L * 13 + Lk);
    const us = rng.normalArray(B * L * H);
    const ks = rng.normalArray(H * Lk);
    const [u, K] = [tf.tensor(us, [B, L, H]), tf.tensor(ks, [H, Lk])];
    const y = fftCausalConv(u, K);
    const ref = naiveConv(us, ks, B, L, H, Lk);
    expectTensorsClose(y, ref, { atol: 1e-4 * Math.max(1, maxAbs(ref)), rtol: 1e-4 });
    tf.dispose([u, K, y]);
  });

  it('equals the Toeplitz product causalLongConv', () => {
    const [B, L, H] = [2, 45, 4];
    const rng = new Rng(5);
    const u = rng.normalTensor([B, L, H]);
    const K = rng.normalTensor([H, 30]);
    const [a, b] = [fftCausalConv(u, K), causalLongConv(u, K)];
    expectTensorsClose(a, b, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([u, K, a, b]);
  });

  it('is causal: changing u at t leaves y before t unchanged', () => {
    const [B, L, H, t0] = [1, 40, 2, 23];
    const rng = new Rng(6);
    const us = rng.normalArray(B * L * H);
    const ks = rng.normalArray(H * L);
    const moved = Float32Array.from(us);
    for (let h = 0; h < H; h++) moved[t0 * H + h]! += 10;
    const K = tf.tensor(ks, [H, L]);
    const [u0, u1] = [tf.tensor(us, [B, L, H]), tf.tensor(moved, [B, L, H])];
    const [y0, y1] = [fftCausalConv(u0, K).dataSync(), fftCausalConv(u1, K).dataSync()];
    const scale = maxAbs(y0);
    for (let i = 0; i < t0 * H; i++) expect(Math.abs(y1[i]! - y0[i]!)).toBeLessThan(1e-5 * scale);
    let after = 0;
    for (let i = t0 * H; i < L * H; i++) after = Math.max(after, Math.abs(y1[i]! - y0[i]!));
    expect(after).toBeGreaterThan(1); // the change at t0 does reach t ≥ t0
    tf.dispose([K, u0, u1]);
  });

  it('has finite-difference gradients for u and K', () => {
    const rng = new Rng(7);
    for (const [L, Lk] of [
      [6, 4],
      [5, 9],
    ] as const) {
      const u = rng.normalTensor([2, L, 2]);
      const K = rng.normalTensor([2, Lk]);
      const wy = rng.normalTensor([2, L, 2]);
      gradCheck((uu, KK) => tf.sum(tf.mul(fftCausalConv(uu, KK), wy)) as tf.Scalar, [u, K], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
      tf.dispose([u, K, wy]);
    }
  });

  it('names the shapes it expects and does not leak tensors (forward and gradients)', () => {
    const u = tf.ones([2, 9, 3]);
    const K = tf.ones([3, 9]);
    expect(() => fftCausalConv(u, tf.ones([2, 9]))).toThrow(/u must be \[B, L, H\] and K \[H, Lk\]; got u \[2,9,3\], K \[2,9\]/);
    expect(leakedTensors(() => tf.dispose(fftCausalConv(u, K)))).toBe(0);
    expect(leakedTensors(() => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(fftCausalConv(a, b)))([u, K])))).toBe(0);
    tf.dispose([u, K]);
  });
});

describeWithBackends('longConv (method choice)', () => {
  it.each(['auto', 'fft', 'toeplitz'] as const)('method %s equals the naive loop', (method) => {
    const [B, L, H, Lk] = [1, 20, 2, 20];
    const rng = new Rng(8);
    const us = rng.normalArray(B * L * H);
    const ks = rng.normalArray(H * Lk);
    const [u, K] = [tf.tensor(us, [B, L, H]), tf.tensor(ks, [H, Lk])];
    const y = longConv(u, K, { method });
    expectTensorsClose(y, naiveConv(us, ks, B, L, H, Lk), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([u, K, y]);
  });

  it('auto switches to the FFT at LONG_CONV_FFT_THRESHOLD and still equals the naive loop there', () => {
    const [B, L, H] = [1, LONG_CONV_FFT_THRESHOLD, 1];
    const rng = new Rng(9);
    const us = rng.normalArray(B * L * H);
    const ks = rng.normalArray(H * L);
    const [u, K] = [tf.tensor(us, [B, L, H]), tf.tensor(ks, [H, L])];
    const ref = naiveConv(us, ks, B, L, H, L);
    const y = longConv(u, K);
    expectTensorsClose(y, ref, { atol: 1e-4 * maxAbs(ref), rtol: 1e-4 });
    tf.dispose([u, K, y]);
  });

  it('names an unknown method', () => {
    const u = tf.ones([1, 4, 1]);
    const K = tf.ones([1, 4]);
    expect(() => longConv(u, K, { method: 'fast' as never })).toThrow(/method must be 'auto', 'fft' or 'toeplitz'; got "fast"/);
    tf.dispose([u, K]);
  });
});
