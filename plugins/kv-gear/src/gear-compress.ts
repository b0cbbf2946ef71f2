/**
 * GEAR's compression of one matrix (Kang et al. 2024, arXiv 2403.05527, §3, Eq. 2–5 and
 * Algorithm 1): a KV matrix X ∈ R^{n×d} (n tokens, d = head width, one batch row and head) is
 * approximated by three parts,
 *
 *   S = Filter_s(X)                 sparse outliers: the top s% entries of |X|, kept exactly (Eq. 5)
 *   D̂ = Quant_b(X − S)              b-bit uniform quantisation of the rest (Eq. 2)
 *   L = LowRank_r(X − D̂ − S)        rank-r approximation of the residual by power iteration (Eq. 4)
 *   X̂ = D̂ + L + S                   (Eq. 3)
 *
 * Notation:
 *   n rows (tokens), d columns (channels), b bits, r rank, s outlier percentage.
 *   Quant_b, per group g (a token row when axis = 'token', a channel column when 'channel'):
 *     m_g = min, Δ_g = (max − min)/(2^b − 1), code = round((x − m_g)/Δ_g) ∈ [0, 2^b − 1],
 *     dequant = m_g + code·Δ_g  (Δ_g = 0: every code 0).
 *   LowRank_r: A_l ∈ R^{n×r}, B_l ∈ R^{d×r} with L = A_l B_lᵀ, from `iters` power iterations
 *     started at a seeded random B_l (the paper's Algorithm 1, "power iteration").
 *   Storage: codes packed to ⌈n·d·b/8⌉ bytes; m, Δ float32 per group; A_l, B_l float32;
 *     each outlier an int32 index + float32 value.
 */
import { Rng } from '@weft/core';

export type QuantAxis = 'token' | 'channel';

export interface GearSettings {
  bits: number;
  rank: number;
  /** s: percentage (0 ≤ s < 100) of entries kept exactly as outliers. */
  outlierPercent: number;
  axis: QuantAxis;
  iters: number;
  seed: number;
}

export interface GearCompressed {
  n: number;
  d: number;
  bits: number;
  axis: QuantAxis;
  codes: Uint8Array; // ⌈n·d·b/8⌉ packed codes
  mins: Float32Array; // [G]
  steps: Float32Array; // [G]
  rank: number;
  a: Float32Array; // [n, r]
  b: Float32Array; // [d, r]
  outIndex: Int32Array; // [k] flat indices into X
  outValue: Float32Array; // [k]
}

/** Number of outliers kept for an n×d matrix: ⌊s·n·d/100⌋. */
export function outlierCount(n: number, d: number, outlierPercent: number): number {
  return Math.floor((outlierPercent * n * d) / 100);
}

/** Stored bytes of one compressed n×d matrix (the compression-ratio formula of the README). */
export function gearBytes(n: number, d: number, s: Pick<GearSettings, 'bits' | 'rank' | 'outlierPercent' | 'axis'>): number {
  const groups = s.axis === 'token' ? n : d;
  const r = Math.min(s.rank, n, d);
  return Math.ceil((n * d * s.bits) / 8) + 2 * groups * 4 + r * (n + d) * 4 + 8 * outlierCount(n, d, s.outlierPercent);
}

export function compressedBytes(c: GearCompressed): number {
  return c.codes.length + 4 * (c.mins.length + c.steps.length + c.a.length + c.b.length + c.outIndex.length + c.outValue.length);
}

function groupOf(i: number, j: number, axis: QuantAxis): number {
  return axis === 'token' ? i : j;
}

/** Quant_b (Eq. 2) of x [n, d]: packed codes and per-group min/step. */
function quantize(x: Float64Array, n: number, d: number, bits: number, axis: QuantAxis) {
  const G = axis === 'token' ? n : d;
  const lo = new Float64Array(G).fill(Infinity);
  const hi = new Float64Array(G).fill(-Infinity);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const g = groupOf(i, j, axis);
      lo[g] = Math.min(lo[g], x[i * d + j]);
      hi[g] = Math.max(hi[g], x[i * d + j]);
    }
  const levels = 2 ** bits - 1;
  const mins = Float32Array.from(lo);
  const steps = Float32Array.from(lo, (l, g) => (hi[g] - l) / levels);
  const codes = new Uint8Array(Math.ceil((n * d * bits) / 8));
  for (let e = 0; e < n * d; e++) {
    const g = groupOf(Math.floor(e / d), e % d, axis);
    const code = steps[g] > 0 ? Math.min(levels, Math.max(0, Math.round((x[e] - mins[g]) / steps[g]))) : 0;
    for (let t = 0; t < bits; t++) if ((code >> t) & 1) codes[(e * bits + t) >> 3] |= 1 << ((e * bits + t) & 7);
  }
  return { codes, mins, steps };
}

function dequantize(c: GearCompressed, out: Float64Array): void {
  const { n, d, bits } = c;
  for (let e = 0; e < n * d; e++) {
    let code = 0;
    for (let t = 0; t < bits; t++) if (c.codes[(e * bits + t) >> 3] & (1 << ((e * bits + t) & 7))) code |= 1 << t;
    const g = groupOf(Math.floor(e / d), e % d, c.axis);
    out[e] = c.mins[g] + code * c.steps[g];
  }
}

/** Orthonormalise the r columns of m [rows, r] in place (modified Gram–Schmidt). */
function orthonormalize(m: Float64Array, rows: number, r: number): void {
  for (let c = 0; c < r; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < rows; i++) dot += m[i * r + c] * m[i * r + p];
      for (let i = 0; i < rows; i++) m[i * r + c] -= dot * m[i * r + p];
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) norm += m[i * r + c] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < rows; i++) m[i * r + c] = norm > 1e-12 ? m[i * r + c] / norm : 0;
  }
}

/** LowRank_r (Eq. 4): power iteration on the residual R [n, d] -> A [n, r], B [d, r], R ≈ A Bᵀ. */
function lowRank(res: Float64Array, n: number, d: number, r: number, iters: number, rng: Rng) {
  const b = Float64Array.from({ length: d * r }, () => rng.normal());
  const a = new Float64Array(n * r);
  const mulA = () => {
    a.fill(0); // A = R B
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let c = 0; c < r; c++) a[i * r + c] += res[i * d + j] * b[j * r + c];
  };
  const mulB = () => {
    b.fill(0); // B = Rᵀ A
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let c = 0; c < r; c++) b[j * r + c] += res[i * d + j] * a[i * r + c];
  };
  for (let t = 0; t < iters; t++) {
    orthonormalize(b, d, r);
    mulA();
    orthonormalize(a, n, r);
    mulB();
  }
  return { a: Float32Array.from(a), b: Float32Array.from(b) }; // A orthonormal, B = Rᵀ A: A Bᵀ = A Aᵀ R
}

/** Algorithm 1 on x [n, d] (row-major). */
export function gearCompress(x: ArrayLike<number>, n: number, d: number, s: GearSettings): GearCompressed {
  const k = outlierCount(n, d, s.outlierPercent);
  const order = Array.from({ length: n * d }, (_, e) => e).sort((e1, e2) => Math.abs(x[e2]) - Math.abs(x[e1]) || e1 - e2);
  const outIndex = Int32Array.from(order.slice(0, k)).sort();
  const outValue = Float32Array.from(outIndex, (e) => x[e]);
  const dense = Float64Array.from(x as ArrayLike<number>); // X − S
  for (const e of outIndex) dense[e] = 0;
  const q = quantize(dense, n, d, s.bits, s.axis);
  const r = Math.min(s.rank, n, d);
  const c: GearCompressed = { n, d, bits: s.bits, axis: s.axis, ...q, rank: r, a: new Float32Array(0), b: new Float32Array(0), outIndex, outValue };
  if (r > 0) {
    const res = new Float64Array(n * d); // R = X − D̂ − S
    dequantize(c, res);
    for (let e = 0; e < n * d; e++) res[e] = x[e] - res[e];
    for (const [t, e] of outIndex.entries()) res[e] -= outValue[t];
    Object.assign(c, lowRank(res, n, d, r, s.iters, new Rng(s.seed)));
  }
  return c;
}

/** X̂ = D̂ + L + S (Eq. 3), row-major [n, d]. */
export function gearReconstruct(c: GearCompressed): Float32Array {
  const { n, d, rank: r } = c;
  const out = new Float64Array(n * d);
  dequantize(c, out);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let t = 0; t < r; t++) out[i * d + j] += c.a[i * r + t] * c.b[j * r + t];
  for (const [t, e] of c.outIndex.entries()) out[e] += c.outValue[t];
  return Float32Array.from(out);
}
