/**
 * Independent references for one (batch, head) matrix, plain float64 loops, nothing shared
 * with src/: matrices are arrays of rows.
 */
export type Mat = number[][];

export const matmul = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, x, t) => s + x * b[t][j], 0)));
export const transpose = (a: Mat): Mat => a[0].map((_, j) => a.map((row) => row[j]));
export const eye = (m: number): Mat => Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
export const softmaxRows = (a: Mat): Mat =>
  a.map((row) => {
    const mx = Math.max(...row);
    const e = row.map((x) => Math.exp(x - mx));
    const z = e.reduce((s, x) => s + x, 0);
    return e.map((x) => x / z);
  });

/** Inverse by Gauss-Jordan elimination with partial pivoting (the pseudo-inverse of an invertible matrix). */
export function inverse(a: Mat): Mat {
  const m = a.length;
  const w = a.map((row, i) => [...row, ...eye(m)[i]]);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(w[r][c]) > Math.abs(w[p][c])) p = r;
    [w[c], w[p]] = [w[p], w[c]];
    const piv = w[c][c];
    for (let j = 0; j < 2 * m; j++) w[c][j] /= piv;
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = w[r][c];
      for (let j = 0; j < 2 * m; j++) w[r][j] -= f * w[c][j];
    }
  }
  return w.map((row) => row.slice(m));
}

/** Eq. (16) iteration from Z₀ = Aᵀ / c: Z ← ¼ Z (13I − AZ(15I − AZ(7I − AZ))). */
export function newtonPinv(A: Mat, iterations: number, c: number): Mat {
  const m = A.length;
  const I = eye(m);
  const lin = (alpha: number, X: Mat, beta: number, Y: Mat) => X.map((row, i) => row.map((x, j) => alpha * x + beta * Y[i][j]));
  let Z = transpose(A).map((row) => row.map((x) => x / c));
  for (let t = 0; t < iterations; t++) {
    const AZ = matmul(A, Z);
    const inner = lin(7, I, -1, AZ);
    const mid = lin(15, I, -1, matmul(AZ, inner));
    const outer = lin(13, I, -1, matmul(AZ, mid));
    Z = matmul(Z, outer).map((row) => row.map((x) => x / 4));
  }
  return Z;
}

export const maxColumnSum = (A: Mat): number => Math.max(...transpose(A).map((col) => col.reduce((s, x) => s + x, 0)));

/** Segment means of n/m consecutive rows. */
export const landmarks = (x: Mat, m: number): Mat =>
  Array.from({ length: m }, (_, j) => {
    const seg = x.slice((j * x.length) / m, ((j + 1) * x.length) / m);
    return x[0].map((_, d) => seg.reduce((s, r) => s + r[d], 0) / seg.length);
  });

/**
 * Nyström attention for one head (eq. 14-15): q, k scaled by d^{-1/4} each;
 * out = softmax(Q K̃ᵀ) · pinv(softmax(Q̃ K̃ᵀ)) · softmax(Q̃ Kᵀ) V, `pinv` given by the caller.
 */
export function naiveNystrom(q: Mat, k: Mat, v: Mat, m: number, pinv: (A: Mat) => Mat): Mat {
  const r = Math.pow(q[0].length, -0.25);
  const Q = q.map((row) => row.map((x) => x * r));
  const K = k.map((row) => row.map((x) => x * r));
  const Ql = landmarks(Q, m), Kl = landmarks(K, m);
  const F = softmaxRows(matmul(Q, transpose(Kl)));
  const A = softmaxRows(matmul(Ql, transpose(Kl)));
  const Bm = softmaxRows(matmul(Ql, transpose(K)));
  return matmul(matmul(F, pinv(A)), matmul(Bm, v));
}

/** Softmax attention for one head with scale d^{-1/2}. */
export function naiveSoftmax(q: Mat, k: Mat, v: Mat): Mat {
  const s = 1 / Math.sqrt(q[0].length);
  return matmul(softmaxRows(matmul(q, transpose(k)).map((row) => row.map((x) => x * s))), v);
}

/** Split a flat [B, H, n, D] array into per-(b, h) matrices. */
export function heads(flat: ArrayLike<number>, B: number, H: number, n: number, D: number): Mat[] {
  return Array.from({ length: B * H }, (_, bh) => Array.from({ length: n }, (_, i) => Array.from({ length: D }, (_, d) => flat[(bh * n + i) * D + d])));
}

/** The landmark kernel Ã = softmax(Q̃ K̃ᵀ) of one head (for the batch-wide 'original' init constant). */
export function landmarkKernel(q: Mat, k: Mat, m: number): Mat {
  const r = Math.pow(q[0].length, -0.25);
  return softmaxRows(matmul(landmarks(q.map((row) => row.map((x) => x * r)), m), transpose(landmarks(k.map((row) => row.map((x) => x * r)), m))));
}
