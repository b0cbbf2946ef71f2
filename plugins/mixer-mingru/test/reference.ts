/** Naive float64 references written from the paper's formulas, independent of the plugin. */
export const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const gRef = (v: number) => (v >= 0 ? v + 0.5 : sigmoid(v));

/** log sum_{s<=t} exp(x_s) over axis 1 of row-major [B, L, C], in float64 with a running max. */
export function naiveLogcumsumexp(x: ArrayLike<number>, B: number, L: number, C: number): Float64Array {
  const out = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      let m = -Infinity;
      let s = 0; // sum exp(x - m)
      for (let t = 0; t < L; t++) {
        const v = x[(b * L + t) * C + c];
        if (v > m) {
          s = s * Math.exp(m - v) + 1;
          m = v;
        } else s += Math.exp(v - m);
        out[(b * L + t) * C + c] = m + Math.log(s);
      }
    }
  return out;
}

/** h_t = a_t h_{t-1} + b_t (h_{-1} = 0; reset to 0 before t where resets[b][t] = 1), linear space. */
export function naiveLinearScan(a: ArrayLike<number>, bv: ArrayLike<number>, B: number, L: number, C: number, resets?: number[][]): Float64Array {
  const out = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      let h = 0;
      for (let t = 0; t < L; t++) {
        if (resets?.[b][t]) h = 0;
        const i = (b * L + t) * C + c;
        h = a[i] * h + bv[i];
        out[i] = h;
      }
    }
  return out;
}

export interface CellWeights {
  /** name -> { W [D, H] row-major (Weft layout x @ W), bias [H] } */
  gates: Record<string, { W: Float32Array; b?: Float32Array }>;
  out: Float32Array; // [H, D]
}

/**
 * The minGRU / minLSTM recurrence run token by token (float64), from Eq. 5 / Eq. 6-7 of the
 * paper: returns y [B, L, D]. `segments[b][t]` restarts h at 0 when the id changes.
 */
export function naiveMinRnn(kind: 'mingru' | 'minlstm', x: ArrayLike<number>, B: number, L: number, D: number, H: number, w: CellWeights, segments?: number[][]): Float64Array {
  const y = new Float64Array(B * L * D);
  const proj = (name: string, b: number, t: number, j: number) => {
    const { W, b: bias } = w.gates[name];
    let s = bias ? bias[j] : 0;
    for (let d = 0; d < D; d++) s += x[(b * L + t) * D + d] * W[d * H + j];
    return s;
  };
  for (let b = 0; b < B; b++) {
    const h = new Float64Array(H);
    for (let t = 0; t < L; t++) {
      if (segments && t > 0 && segments[b][t] !== segments[b][t - 1]) h.fill(0);
      for (let j = 0; j < H; j++) {
        const cand = gRef(proj('linear_h', b, t, j));
        if (kind === 'mingru') {
          const z = sigmoid(proj('linear_z', b, t, j));
          h[j] = (1 - z) * h[j] + z * cand;
        } else {
          const f = sigmoid(proj('linear_f', b, t, j));
          const i = sigmoid(proj('linear_i', b, t, j));
          h[j] = (f / (f + i)) * h[j] + (i / (f + i)) * cand;
        }
      }
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let j = 0; j < H; j++) s += h[j] * w.out[j * D + d];
        y[(b * L + t) * D + d] = s;
      }
    }
  }
  return y;
}
