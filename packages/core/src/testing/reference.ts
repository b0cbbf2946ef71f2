/**
 * Independent references written with plain loops in float64, for tests: nothing here
 * calls tfjs ops, so a kernel is never checked against itself.
 */

export interface NaiveAttentionOptions {
  causal?: boolean;
  /** Default 1/sqrt(Dh). */
  scale?: number;
  /** Query i sees key j iff j <= i + queryOffset when causal (default Lk - Lq). */
  queryOffset?: number;
  /** Additive bias for (batch, head, query, key). */
  bias?: (b: number, h: number, i: number, j: number) => number;
  /** False drops the (batch, query, key) pair. */
  allowed?: (b: number, i: number, j: number) => boolean;
}

/**
 * softmax(scale · q kᵀ + bias, masked) v for q [B, H, Lq, Dh], k [B, Hkv, Lk, Dh],
 * v [B, Hkv, Lk, Dv] given as flat arrays. Query head h reads kv head floor(h / (H / Hkv)).
 * Fully masked rows give 0. Returns [B, H, Lq, Dv] flat.
 */
export function naiveAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { B: number; H: number; Hkv?: number; Lq: number; Lk: number; Dh: number; Dv?: number },
  options: NaiveAttentionOptions = {},
): Float32Array {
  const { B, H, Lq, Lk, Dh } = dims;
  const Hkv = dims.Hkv ?? H;
  const Dv = dims.Dv ?? Dh;
  const scale = options.scale ?? 1 / Math.sqrt(Dh);
  const offset = options.queryOffset ?? Lk - Lq;
  const out = new Float32Array(B * H * Lq * Dv);
  const logits = new Float64Array(Lk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Lq; i++) {
        let max = -Infinity;
        for (let j = 0; j < Lk; j++) {
          const visible = (!options.causal || j <= i + offset) && (!options.allowed || options.allowed(b, i, j));
          if (!visible) {
            logits[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += q[((b * H + h) * Lq + i) * Dh + d] * k[((b * Hkv + hk) * Lk + j) * Dh + d];
          logits[j] = dot * scale + (options.bias ? options.bias(b, h, i, j) : 0);
          if (logits[j] > max) max = logits[j];
        }
        if (max === -Infinity) continue; // fully masked row -> 0
        let sum = 0;
        for (let j = 0; j < Lk; j++) {
          logits[j] = logits[j] === -Infinity ? 0 : Math.exp(logits[j] - max);
          sum += logits[j];
        }
        for (let e = 0; e < Dv; e++) {
          let acc = 0;
          for (let j = 0; j < Lk; j++) acc += logits[j] * v[((b * Hkv + hk) * Lk + j) * Dv + e];
          out[((b * H + h) * Lq + i) * Dv + e] = acc / sum;
        }
      }
    }
  }
  return out;
}

/** x @ w for row-major x [n, k] and w [k, m]. */
export function naiveMatmul(x: ArrayLike<number>, w: ArrayLike<number>, n: number, k: number, m: number): Float32Array {
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += x[i * k + t] * w[t * m + j];
      out[i * m + j] = acc;
    }
  }
  return out;
}
