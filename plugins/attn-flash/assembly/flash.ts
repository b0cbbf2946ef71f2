// FlashAttention, fused, for WebAssembly SIMD (AssemblyScript source; built by
// scripts/build-wasm.mjs with `asc --enable simd -O3 --runtime stub`).
//
// Notation (FlashAttention-2, Dao 2023, Algorithms 1 and 2):
//   Q [B, H, Lq, Dh], K [B, Hkv, Lk, Dh], V [B, Hkv, Lk, Dv], O [B, H, Lq, Dv]  row-major f32
//   S = scale · Q Kᵀ + bias + mask    (never stored: one row of one K tile at a time)
//   m  running row max, l running normaliser (ℓ in the paper), acc = unnormalised O row
//   L = lse = m + log(l) (logsumexp, saved for the backward pass; +inf for fully masked rows)
//   GQA: query head h reads kv head h / (H / Hkv).
//
// (No @inline decorators: binaryen -O3 inlines these small helpers, and plain TS syntax keeps
// the repo-wide ESLint parser happy.)
// Memory is managed by the JS caller (FlashAttention_impl.ts): it copies the tensors into
// this module's linear memory above __heap_base and passes byte offsets. A zero offset means
// "absent" for the optional inputs. Nothing here allocates.
//
// Masks, all combined per logit:
//   causal   key j visible to query i iff j <= i + qOff
//   keyBias  [B, Lk] additive 0 / -inf (key padding)
//   qSeg/kSeg [B, Lq] / [B, Lk] i32: visible iff equal ids
//   bias     a strip [Bb, Hb, i1-i0, Lk] for rows [i0, i1) (strides 0 when broadcast)
//   table    u8 [nQB, nKB]: block-sparse pattern (FlashAttention-1, Sec. 3.3); 0 = skip tile

const NEG_INF: f32 = -Infinity;

// Scratch for one query row's logits over one K tile (blockK floats), set by the caller.
let sRow: usize = 0;

export function heapBase(): usize {
  return __heap_base;
}

export function setScratch(ptr: usize): void {
  sRow = ptr;
}

// Σ a[d]·b[d], d < n, 4 lanes at a time.
function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>d << 2)), v128.load(b + (<usize>d << 2))));
  }
  let s: f32 =
    f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < n; d++) s += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return s;
}

// y[d] = y[d]·c + a·x[d]
function scaleAxpy(y: usize, c: f32, a: f32, x: usize, n: i32): void {
  const cv = f32x4.splat(c);
  const av = f32x4.splat(a);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    const p = y + (<usize>d << 2);
    v128.store(p, f32x4.add(f32x4.mul(v128.load(p), cv), f32x4.mul(av, v128.load(x + (<usize>d << 2)))));
  }
  for (; d < n; d++) {
    const p = y + (<usize>d << 2);
    store<f32>(p, load<f32>(p) * c + a * load<f32>(x + (<usize>d << 2)));
  }
}

// y[d] += a·x[d]
function axpy(y: usize, a: f32, x: usize, n: i32): void {
  const av = f32x4.splat(a);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    const p = y + (<usize>d << 2);
    v128.store(p, f32x4.add(v128.load(p), f32x4.mul(av, v128.load(x + (<usize>d << 2)))));
  }
  for (; d < n; d++) {
    const p = y + (<usize>d << 2);
    store<f32>(p, load<f32>(p) + a * load<f32>(x + (<usize>d << 2)));
  }
}

// The problem description shared by forward and backward, set once per call by the caller.
let B: i32, H: i32, Hkv: i32, Lq: i32, Lk: i32, Dh: i32, Dv: i32;
let causal: bool, qOff: i32, bq: i32, bk: i32;
let scalePtr: usize, keyBias: usize, qSeg: usize, kSeg: usize, table: usize;
let biasPtr: usize, biasBStride: i32, biasHStride: i32, biasRow0: i32;

export function setProblem(
  b: i32, h: i32, hkv: i32, lq: i32, lk: i32, dh: i32, dv: i32,
  isCausal: i32, queryOffset: i32, blockQ: i32, blockK: i32,
  scale: usize, keyBiasPtr: usize, qSegPtr: usize, kSegPtr: usize, tablePtr: usize,
): void {
  B = b; H = h; Hkv = hkv; Lq = lq; Lk = lk; Dh = dh; Dv = dv;
  causal = isCausal != 0; qOff = queryOffset; bq = blockQ; bk = blockK;
  scalePtr = scale; keyBias = keyBiasPtr; qSeg = qSegPtr; kSeg = kSegPtr; table = tablePtr;
  biasPtr = 0;
}

// The bias strip for rows [row0, row0 + rows): [Bb, Hb, rows, Lk] with the given strides.
export function setBias(ptr: usize, bStride: i32, hStride: i32, row0: i32): void {
  biasPtr = ptr; biasBStride = bStride; biasHStride = hStride; biasRow0 = row0;
}

// Last key index (exclusive) any row of the query block [qa, qe) may see.
function keyLimit(qe: i32): i32 {
  if (!causal) return Lk;
  const lim = qe - 1 + qOff + 1;
  return lim < 0 ? 0 : (lim > Lk ? Lk : lim);
}

// Fill sRow[0 .. je-ja) with the masked, scaled, biased logits of query row i against keys
// [ja, je) of (b, hk). Returns the row max (-inf when all are masked).
function logits(qRow: usize, kBase: usize, b: i32, h: i32, i: i32, ja: i32, je: i32, scale: f32): f32 {
  let mx: f32 = NEG_INF;
  const jCausal = causal ? i + qOff : Lk - 1; // last visible key
  const qs: i32 = qSeg != 0 ? load<i32>(qSeg + ((<usize>(b * Lq + i)) << 2)) : 0;
  const bRow: usize = biasPtr != 0
    ? biasPtr + ((<usize>(b * biasBStride + h * biasHStride + (i - biasRow0) * Lk)) << 2)
    : 0;
  for (let j = ja; j < je; j++) {
    let s: f32 = NEG_INF;
    let visible = j <= jCausal;
    if (visible && kSeg != 0) visible = load<i32>(kSeg + ((<usize>(b * Lk + j)) << 2)) == qs;
    if (visible) {
      s = dot(qRow, kBase + ((<usize>j * <usize>Dh) << 2), Dh) * scale;
      if (keyBias != 0) s += load<f32>(keyBias + ((<usize>(b * Lk + j)) << 2));
      if (bRow != 0) s += load<f32>(bRow + (<usize>j << 2));
      if (s > mx) mx = s;
    }
    store<f32>(sRow + (<usize>(j - ja) << 2), s);
  }
  return mx;
}

function tileAllowed(qb: i32, kb: i32): bool {
  if (table == 0) return true;
  const nKB = (Lk + bk - 1) / bk;
  return load<u8>(table + <usize>(qb * nKB + kb)) != 0;
}

// Forward for query rows [i0, i1) (a multiple of blockQ apart, except at the end), all b, h.
// FA2 Algorithm 1: outer loop over query tiles, inner loop over key tiles, online softmax.
// `state` is scratch for 2·blockQ floats (m, l). Outputs: O rows into `out` ([B, H, Lq, Dv]),
// lse rows into `lse` ([B, H, Lq]).
export function forward(q: usize, k: usize, v: usize, out: usize, lse: usize, state: usize, i0: i32, i1: i32): void {
  const group = H / Hkv;
  const mBuf = state;
  const lBuf = state + (<usize>bq << 2);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = h / group;
      const scale = load<f32>(scalePtr + (<usize>h << 2));
      const qHead = q + ((<usize>((b * H + h) * Lq) * <usize>Dh) << 2);
      const oHead = out + ((<usize>((b * H + h) * Lq) * <usize>Dv) << 2);
      const kHead = k + ((<usize>((b * Hkv + hk) * Lk) * <usize>Dh) << 2);
      const vHead = v + ((<usize>((b * Hkv + hk) * Lk) * <usize>Dv) << 2);
      for (let qa = i0; qa < i1; qa += bq) {
        const qe = min(qa + bq, i1);
        const qb = qa / bq;
        // line 4-5: O_i = 0, ℓ_i = 0, m_i = -inf
        for (let r = 0; r < qe - qa; r++) {
          store<f32>(mBuf + (<usize>r << 2), NEG_INF);
          store<f32>(lBuf + (<usize>r << 2), 0);
          memory.fill(oHead + ((<usize>(qa + r) * <usize>Dv) << 2), 0, <usize>Dv << 2);
        }
        const kEnd = keyLimit(qe); // causal: skip key tiles right of the diagonal
        for (let ka = 0; ka < kEnd; ka += bk) {
          const ke = min(ka + bk, Lk);
          if (!tileAllowed(qb, ka / bk)) continue;
          for (let r = 0; r < qe - qa; r++) {
            const i = qa + r;
            // line 8: S_ij = Q_i K_jᵀ (scaled, biased, masked)
            const rowMax = logits(qHead + ((<usize>i * <usize>Dh) << 2), kHead, b, h, i, ka, ke, scale);
            const mOld = load<f32>(mBuf + (<usize>r << 2));
            const mNew = max(mOld, rowMax);
            if (mNew == NEG_INF) continue; // nothing visible yet
            // line 9-10: m_new = max(m, rowmax S), P = exp(S - m_new), ℓ = e^{m-m_new} ℓ + rowsum P
            const alpha = Mathf.exp(mOld - mNew);
            let l = load<f32>(lBuf + (<usize>r << 2)) * alpha;
            const oRow = oHead + ((<usize>i * <usize>Dv) << 2);
            let first = true;
            for (let j = ka; j < ke; j++) {
              const s = load<f32>(sRow + (<usize>(j - ka) << 2));
              if (s == NEG_INF) continue;
              const p = Mathf.exp(s - mNew);
              l += p;
              // O_i = diag(e^{m-m_new}) O_i + P V_j (the rescale folded into the first update)
              if (first) {
                scaleAxpy(oRow, alpha, p, vHead + ((<usize>j * <usize>Dv) << 2), Dv);
                first = false;
              } else {
                axpy(oRow, p, vHead + ((<usize>j * <usize>Dv) << 2), Dv);
              }
            }
            if (first && alpha != 1) scaleAxpy(oRow, alpha, 0, oRow, Dv);
            store<f32>(lBuf + (<usize>r << 2), l);
            store<f32>(mBuf + (<usize>r << 2), mNew);
          }
        }
        // line 12-13: O_i = diag(ℓ)^-1 O_i, L_i = m_i + log ℓ_i
        for (let r = 0; r < qe - qa; r++) {
          const i = qa + r;
          const l = load<f32>(lBuf + (<usize>r << 2));
          const oRow = oHead + ((<usize>i * <usize>Dv) << 2);
          const lsePtr = lse + (<usize>((b * H + h) * Lq + i) << 2);
          if (l > 0) {
            scaleAxpy(oRow, 1 / l, 0, oRow, Dv);
            store<f32>(lsePtr, load<f32>(mBuf + (<usize>r << 2)) + Mathf.log(l));
          } else {
            store<f32>(lsePtr, Infinity); // fully masked row: O = 0, lse = +inf (flash-attn)
          }
        }
      }
    }
  }
}

// Backward for query rows [i0, i1), all b, h (FA2 Algorithm 2, with the query loop outside:
// one thread, so dK/dV accumulate in place and dQ rows finish per tile).
//   D_i = rowsum(dO_i ∘ O_i); P_ij = exp(S_ij - L_i); dV_j += P_ijᵀ dO_i;
//   dP_ij = dO_i V_jᵀ; dS_ij = P_ij (dP_ij - D_i); dQ_i += scale dS_ij K_j; dK_j += scale dS_ijᵀ Q_i.
// dq [B, H, Lq, Dh] rows are written; dk [B, Hkv, Lk, Dh], dv [B, Hkv, Lk, Dv] and
// dscale [H] (Σ dS · QKᵀ, for a learned per-head scale) are accumulated (zeroed by the caller).
// `state` is scratch for blockQ floats (D).
export function backward(
  q: usize, k: usize, v: usize, o: usize, dO: usize, lse: usize,
  dq: usize, dk: usize, dv: usize, dscale: usize, state: usize, i0: i32, i1: i32,
): void {
  const group = H / Hkv;
  const dBuf = state;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = h / group;
      const scale = load<f32>(scalePtr + (<usize>h << 2));
      let dScaleAcc: f64 = 0;
      const rowQ = (<usize>((b * H + h) * Lq) * <usize>Dh) << 2;
      const rowO = (<usize>((b * H + h) * Lq) * <usize>Dv) << 2;
      const kvK = (<usize>((b * Hkv + hk) * Lk) * <usize>Dh) << 2;
      const kvV = (<usize>((b * Hkv + hk) * Lk) * <usize>Dv) << 2;
      for (let qa = i0; qa < i1; qa += bq) {
        const qe = min(qa + bq, i1);
        const qb = qa / bq;
        for (let r = 0; r < qe - qa; r++) {
          const i = qa + r;
          store<f32>(dBuf + (<usize>r << 2), dot(dO + rowO + ((<usize>i * <usize>Dv) << 2), o + rowO + ((<usize>i * <usize>Dv) << 2), Dv));
          memory.fill(dq + rowQ + ((<usize>i * <usize>Dh) << 2), 0, <usize>Dh << 2);
        }
        const kEnd = keyLimit(qe);
        for (let ka = 0; ka < kEnd; ka += bk) {
          const ke = min(ka + bk, Lk);
          if (!tileAllowed(qb, ka / bk)) continue;
          for (let r = 0; r < qe - qa; r++) {
            const i = qa + r;
            const L = load<f32>(lse + (<usize>((b * H + h) * Lq + i) << 2));
            if (L == Infinity) continue; // fully masked row: no gradient
            const qRow = q + rowQ + ((<usize>i * <usize>Dh) << 2);
            const dqRow = dq + rowQ + ((<usize>i * <usize>Dh) << 2);
            const doRow = dO + rowO + ((<usize>i * <usize>Dv) << 2);
            const Di = load<f32>(dBuf + (<usize>r << 2));
            logits(qRow, k + kvK, b, h, i, ka, ke, scale);
            for (let j = ka; j < ke; j++) {
              const s = load<f32>(sRow + (<usize>(j - ka) << 2));
              if (s == NEG_INF) continue;
              const p = Mathf.exp(s - L);
              const kRow = k + kvK + ((<usize>j * <usize>Dh) << 2);
              const vRow = v + kvV + ((<usize>j * <usize>Dv) << 2);
              axpy(dv + kvV + ((<usize>j * <usize>Dv) << 2), p, doRow, Dv);
              const dp = dot(doRow, vRow, Dv);
              const ds = p * (dp - Di);
              if (dscale != 0) dScaleAcc += <f64>ds * <f64>dot(qRow, kRow, Dh);
              const dsScaled = ds * scale;
              axpy(dqRow, dsScaled, kRow, Dh);
              axpy(dk + kvK + ((<usize>j * <usize>Dh) << 2), dsScaled, qRow, Dh);
            }
          }
        }
      }
      if (dscale != 0) {
        const p = dscale + (<usize>h << 2);
        store<f32>(p, load<f32>(p) + <f32>dScaleAcc);
      }
    }
  }
}
