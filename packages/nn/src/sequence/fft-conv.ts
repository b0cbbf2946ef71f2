/**
 * Causal long convolution by a DFT written as real matmuls (the four-step / Bailey factorisation
 * of the Cooley–Tukey FFT), so it runs on every tfjs backend (wasm has no FFT kernels and no
 * complex dtype) and is differentiable by construction (matMul, mul, add, transpose, reshape,
 * slice, pad — all with tfjs gradients; tfjs-core 4.22 has no gradient for FFT/IFFT/RFFT/IRFFT).
 * This is how FlashFFTConv (Fu, Kumbong, Nguyen & Ré, arXiv 2311.05908, §3.1) maps an FFT
 * convolution onto matrix-multiply units.
 *
 * Notation: N = N1 · N2 transform size, ω_N = e^{−2πi/N}, F_n[j, k] = ω_n^{jk} = cos − i·sin.
 *   index split      n = N2·n1 + n2,   k = k1 + N1·k2       (n1, k1 < N1; n2, k2 < N2)
 *   DFT              X[k1 + N1 k2] = Σ_{n2} ω_{N2}^{n2 k2} · ω_N^{n2 k1} · Σ_{n1} ω_{N1}^{n1 k1} x[N2 n1 + n2]
 *     step 1         A = F_{N1} · x            x viewed as [N1, N2·M]      (matmul over n1)
 *     step 2         A ⊙ ω_N^{k1 n2}           twiddle factors [N1, 1, N2]
 *     step 3         X = A · F_{N2}            [N1·M, N2]                  (matmul over n2)
 *   spectrum layout  [N1, M, N2] = (k1, m, k2) — the "transposed" order; the inverse reads it
 *                    directly, so a convolution never transposes spectra. dft() reorders to k.
 *   IDFT             x[N2 n1 + n2] = (1/N) Σ_{k1} ω̄_{N1}^{n1 k1} ω̄_N^{n2 k1} Σ_{k2} ω̄_{N2}^{n2 k2} X[k1 + N1 k2]
 *   cost             O(M · N · (N1 + N2)) = O(M · N^1.5) for N1 ≈ N2 ≈ √N (M signals).
 * Real and imaginary parts are separate float32 tensors; every table is built in float64 from
 * the reduced angle 2π·((j·k) mod n)/n, then rounded.
 *
 * Convolution (S4 Eq. 4–5 via the convolution theorem): for u [B, L, H], K [H, Lk],
 *   y[b, t, h] = Σ_{s ≤ t} K[h, t − s] u[b, s, h]
 *             = IDFT_N( DFT_N(u_pad) ⊙ DFT_N(K_pad) )[t]     for t < L, N ≥ L + min(L, Lk) − 1
 * (no circular wrap-around reaches t < L). N is not restricted to powers of two: the four-step
 * split is exact for any N1·N2, so N1 = ⌈√M⌉, N2 = ⌈M / N1⌉ with M = L + min(L, Lk) − 1.
 * Only the first ⌈L / N2⌉ rows of the [N1, N2] input grid are non-zero and only the first
 * ⌈L / N2⌉ output rows are kept, so step 1 of the forward and step 3 of the inverse use those rows alone.
 */
import { tf, type Tensor } from '@weft/core';
import { causalLongConv } from './causal-long-conv.js';

/** A complex tensor as two real float32 tensors of the same shape. */
export interface ComplexPair {
  re: Tensor;
  im: Tensor;
}

/** The four-step split N = N1 · N2 used for a transform of at least `minSize` points. */
export function fourStepSplit(minSize: number): [number, number] {
  const n1 = Math.max(1, Math.ceil(Math.sqrt(minSize)));
  return [n1, Math.max(1, Math.ceil(minSize / n1))];
}

/** cos and sin of 2π·(j·k mod n)/n for j < rows, k < cols, times `scale`; row-major [rows, cols]. */
function trigTable(rows: number, cols: number, n: number, scale = 1): [Float32Array, Float32Array] {
  const c = new Float32Array(rows * cols);
  const s = new Float32Array(rows * cols);
  for (let j = 0; j < rows; j++) {
    for (let k = 0; k < cols; k++) {
      const a = (2 * Math.PI * ((j * k) % n)) / n;
      c[j * cols + k] = Math.cos(a) * scale;
      s[j * cols + k] = Math.sin(a) * scale;
    }
  }
  return [c, s];
}

const tableCache = new Map<string, [Float32Array, Float32Array]>();
function cachedTable(rows: number, cols: number, n: number, scale = 1): [Float32Array, Float32Array] {
  const key = `${rows},${cols},${n},${scale}`;
  let t = tableCache.get(key);
  if (!t) {
    if (tableCache.size > 64) tableCache.clear();
    t = trigTable(rows, cols, n, scale);
    tableCache.set(key, t);
  }
  return t;
}

function pairTensor([c, s]: [Float32Array, Float32Array], shape: number[]): [Tensor, Tensor] {
  return [tf.tensor(c, shape, 'float32'), tf.tensor(s, shape, 'float32')];
}

/** Twiddles ω_N^{k1 n2} as cos/sin tables [N1, 1, N2]. */
function twiddles(n1: number, n2: number): [Tensor, Tensor] {
  return pairTensor(cachedTable(n1, n2, n1 * n2), [n1, 1, n2]);
}

/**
 * Forward four-step DFT of M real signals laid out as columns: x [R·N2, M] holds the first R·N2
 * samples (R ≤ N1; samples beyond are zero). Returns the spectrum in (k1, m, k2) layout [N1, M, N2].
 */
export function fourStepForward(x: Tensor, n1: number, n2: number): ComplexPair {
  const [rows, M] = x.shape as [number, number];
  const R = rows / n2;
  if (!Number.isInteger(R) || R > n1) throw new RangeError(`fourStepForward: x must be [R·N2, M] with R ≤ N1 = ${n1}, N2 = ${n2}; got [${x.shape}]`);
  return tf.tidy(() => {
    const [c1, s1] = pairTensor(cachedTable(n1, R, n1), [n1, R]); // F_{N1}[:, :R]
    const xg = tf.reshape(x, [R, n2 * M]); // [n1 < R, (n2, m)]
    const toLayout = (t: Tensor) => tf.transpose(tf.reshape(t, [n1, n2, M]), [0, 2, 1]); // [k1, m, n2]
    const ar = toLayout(tf.matMul(c1, xg)); // step 1, Re(F x) = cos · x
    const ai = toLayout(tf.neg(tf.matMul(s1, xg))); //      Im(F x) = −sin · x
    const [tc, ts] = twiddles(n1, n2); // [N1, 1, N2]
    const br = tf.reshape(tf.add(tf.mul(ar, tc), tf.mul(ai, ts)), [n1 * M, n2]); // step 2, (a_r + i a_i)(cos − i sin)
    const bi = tf.reshape(tf.sub(tf.mul(ai, tc), tf.mul(ar, ts)), [n1 * M, n2]);
    const [c2, s2] = pairTensor(cachedTable(n2, n2, n2), [n2, n2]);
    const re = tf.add(tf.matMul(br, c2), tf.matMul(bi, s2)); // step 3, (b_r + i b_i)(cos − i sin)
    const im = tf.sub(tf.matMul(bi, c2), tf.matMul(br, s2));
    return { re: tf.reshape(re, [n1, M, n2]), im: tf.reshape(im, [n1, M, n2]) }; // [k1, m, k2]
  });
}

/**
 * Real part of the inverse four-step DFT of a spectrum in (k1, m, k2) layout [N1, M, N2]: returns
 * the first `rows` · N2 samples (rows ≤ N1) as columns [rows·N2, M], scaled by 1/N.
 */
export function fourStepInverseReal(spec: ComplexPair, rows: number): Tensor {
  const [n1, M, n2] = spec.re.shape as [number, number, number];
  if (rows < 1 || rows > n1) throw new RangeError(`fourStepInverseReal: rows must be in [1, ${n1}], got ${rows}`);
  return tf.tidy(() => {
    const [c2, s2] = pairTensor(cachedTable(n2, n2, n2), [n2, n2]);
    const yr = tf.reshape(spec.re, [n1 * M, n2]);
    const yi = tf.reshape(spec.im, [n1 * M, n2]);
    const dr = tf.reshape(tf.sub(tf.matMul(yr, c2), tf.matMul(yi, s2)), [n1, M, n2]); // (y_r + i y_i)(cos + i sin), over k2
    const di = tf.reshape(tf.add(tf.matMul(yi, c2), tf.matMul(yr, s2)), [n1, M, n2]); // [k1, m, n2]
    const [tc, ts] = twiddles(n1, n2);
    const fromLayout = (t: Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1]), [n1, n2 * M]); // [k1, (n2, m)]
    const er = fromLayout(tf.sub(tf.mul(dr, tc), tf.mul(di, ts))); // conjugate twiddle
    const ei = fromLayout(tf.add(tf.mul(di, tc), tf.mul(dr, ts)));
    const N = n1 * n2;
    const [c1, s1] = pairTensor(cachedTable(rows, n1, n1, 1 / N), [rows, n1]); // F̄_{N1}[:rows] / N
    const x = tf.sub(tf.matMul(c1, er), tf.matMul(s1, ei)); // Re((cos + i sin)(e_r + i e_i))  [n1 < rows, (n2, m)]
    return tf.reshape(x, [rows * n2, M]); // [rows·N2, M], row n = N2·n1 + n2
  });
}

/**
 * DFT along the last axis of a real tensor x [..., N] in natural frequency order:
 * X[..., k] = Σ_n x[..., n] e^{−2πi nk/N}. `split` picks N1 (must divide N); default ⌈√N⌉-ish.
 */
export function dft(x: Tensor, split?: number): ComplexPair {
  const N = x.shape[x.rank - 1]!;
  const n1 = split ?? largestDivisorAtMostSqrt(N);
  if (!Number.isInteger(n1) || n1 < 1 || N % n1 !== 0) throw new RangeError(`dft: split N1 must be a positive divisor of N = ${N}, got ${n1}`);
  const n2 = N / n1;
  const lead = x.shape.slice(0, -1);
  const M = lead.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    const cols = tf.transpose(tf.reshape(x, [M, N])); // [N, M]
    const spec = fourStepForward(cols, n1, n2); // [k1, m, k2]
    const natural = (t: Tensor) => tf.reshape(tf.transpose(t, [1, 2, 0]), [...lead, N]); // [m, k2, k1] -> k = k1 + N1·k2
    return { re: natural(spec.re), im: natural(spec.im) };
  });
}

/** Real part of the inverse DFT along the last axis: x[..., n] = Re((1/N) Σ_k X[..., k] e^{2πi nk/N}). */
export function idftReal(X: ComplexPair, split?: number): Tensor {
  const N = X.re.shape[X.re.rank - 1]!;
  const n1 = split ?? largestDivisorAtMostSqrt(N);
  if (!Number.isInteger(n1) || n1 < 1 || N % n1 !== 0) throw new RangeError(`idftReal: split N1 must be a positive divisor of N = ${N}, got ${n1}`);
  const n2 = N / n1;
  const lead = X.re.shape.slice(0, -1);
  const M = lead.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    const layout = (t: Tensor) => tf.transpose(tf.reshape(t, [M, n2, n1]), [2, 0, 1]); // k = k1 + N1·k2 -> [k1, m, k2]
    const x = fourStepInverseReal({ re: layout(X.re), im: layout(X.im) }, n1); // [N, M]
    return tf.reshape(tf.transpose(x), [...lead, N]);
  });
}

function largestDivisorAtMostSqrt(n: number): number {
  for (let d = Math.floor(Math.sqrt(n)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** Columns [R·N2, M] of a [L, M] signal zero-padded (or cut) to R·N2 rows. */
function padRows(x: Tensor, rows: number): Tensor {
  const L = x.shape[0]!;
  return rows === L ? x : tf.pad(x, [[0, rows - L], [0, 0]]);
}

/**
 * u [B, L, H], K [H, Lk] -> y [B, L, H] with y[b, t, h] = Σ_{s ≤ t} K[h, t − s] u[b, s, h]:
 * the same map as causalLongConv (kernels shorter than L are zero-padded, longer ones cut to
 * their first L taps), computed through the matmul DFT in O(B · H · N^1.5), N ≈ L + min(L, Lk).
 */
export function fftCausalConv(u: Tensor, K: Tensor): Tensor {
  if (u.rank !== 3 || K.rank !== 2 || K.shape[0] !== u.shape[2]) {
    throw new RangeError(`fftCausalConv: u must be [B, L, H] and K [H, Lk]; got u [${u.shape}], K [${K.shape}]`);
  }
  const [B, L, H] = u.shape as [number, number, number];
  const Lc = Math.min(K.shape[1]!, L);
  if (Lc === 0 || L === 0) return tf.zeros([B, L, H]);
  const [n1, n2] = fourStepSplit(L + Lc - 1);
  const rowsU = Math.ceil(L / n2);
  const rowsK = Math.ceil(Lc / n2);
  return tf.tidy(() => {
    const uc = padRows(tf.reshape(tf.transpose(u, [1, 0, 2]), [L, B * H]), rowsU * n2); // [rowsU·N2, (b, h)]
    const kc = padRows(tf.transpose(tf.slice(K, [0, 0], [H, Lc])), rowsK * n2); // [rowsK·N2, h]
    const U = fourStepForward(uc, n1, n2); // [N1, B·H, N2]
    const Kf = fourStepForward(kc, n1, n2); // [N1, H, N2]
    const u4 = (t: Tensor) => tf.reshape(t, [n1, B, H, n2]); // [k1, b, h, k2]
    const k4 = (t: Tensor) => tf.reshape(t, [n1, 1, H, n2]); // broadcast over b
    const [ur, ui, kr, ki] = [u4(U.re), u4(U.im), k4(Kf.re), k4(Kf.im)];
    const yr = tf.reshape(tf.sub(tf.mul(ur, kr), tf.mul(ui, ki)), [n1, B * H, n2]); // DFT(u) ⊙ DFT(K)
    const yi = tf.reshape(tf.add(tf.mul(ur, ki), tf.mul(ui, kr)), [n1, B * H, n2]);
    const y = fourStepInverseReal({ re: yr, im: yi }, rowsU); // [rowsU·N2, B·H]
    const yl = rowsU * n2 === L ? y : tf.slice(y, [0, 0], [L, B * H]); // [L, B·H]
    return tf.transpose(tf.reshape(yl, [L, B, H]), [1, 0, 2]); // [B, L, H]
  });
}

/** How longConv computes the convolution. */
export type LongConvMethod = 'auto' | 'fft' | 'toeplitz';

/**
 * Sequence length from which method 'auto' uses the matmul FFT instead of the Toeplitz product.
 * Measured on the wasm backend (min of 12 runs of forward + backward, u [B, L, H], K [H, L];
 * B = 4, H = 32): L = 64: FFT 20 ms / Toeplitz 14 ms; L = 96: 22 / 42 ms; L = 128: 16 / 71 ms;
 * B = 1, H = 8: L = 2048: 114 ms / 4.5 s, L = 8192: FFT 0.94 s (Toeplitz: O(H·L²) memory).
 * Forward alone crosses over slightly earlier (L = 64: 2.0 / 4.9 ms). On cpu the FFT already
 * wins at L = 32 (the Toeplitz gather's gradient is slow there). See packages/nn/README.md.
 */
export const LONG_CONV_FFT_THRESHOLD = 96;

export interface LongConvOptions {
  /** 'toeplitz': O(L²) exact matmul; 'fft': O(L^1.5) matmul DFT; 'auto' (default): FFT from LONG_CONV_FFT_THRESHOLD on. */
  method?: LongConvMethod;
}

/** Causal long convolution u [B, L, H], K [H, Lk] -> [B, L, H], by the Toeplitz product or the matmul FFT. */
export function longConv(u: Tensor, K: Tensor, opts: LongConvOptions = {}): Tensor {
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'fft' && method !== 'toeplitz') {
    throw new RangeError(`longConv: method must be 'auto', 'fft' or 'toeplitz'; got ${JSON.stringify(method)}`);
  }
  const useFft = method === 'fft' || (method === 'auto' && u.rank === 3 && u.shape[1]! >= LONG_CONV_FFT_THRESHOLD);
  return useFft ? fftCausalConv(u, K) : causalLongConv(u, K);
}
