/**
 * The FlashAttention forward pass as one WGSL program (FA2 Algorithm 1): one workgroup per
 * (query tile of R rows, batch·head). Q_i stays in workgroup memory; K_j, V_j tiles of C keys
 * stream through it; the running max m, normaliser ℓ and the unnormalised output O_i of each
 * row live in the registers of the T lanes of that row (the lanes keep identical m, ℓ and own
 * disjoint output columns). No Lq × Lk buffer exists.
 *
 *   S_ij = scale · Q_i K_jᵀ (masked entries MASKED)                               line 8
 *   m_new = max(m, rowmax S_ij),  P̃_ij = exp(S_ij − m_new),  α = exp(m − m_new)    line 9
 *   ℓ = α ℓ + rowsum P̃_ij,   O_i = α O_i + P̃_ij V_j                               line 10
 *   O_i /= ℓ,  L_i = m + log ℓ  (fully masked rows: O_i = 0, L_i = +inf)          lines 12–13
 *
 * Inputs: Q [B, H, Lq, Dh], K [B, Hkv, Lk, Dh], V [B, Hkv, Lk, Dv], then the masks
 * (program.ts). Output [B, H, Lq, Dv + 1]: O in the first Dv columns, L in the last.
 */
import {
  commonWgsl,
  loadRows,
  maskVariables,
  type MaskFlags,
  type SharedFloats,
  type Tiles,
  FlashProgram,
} from './program.js';

/** Workgroup floats: Q_i [R, Dh], K_j [C, Dh], V_j [C, Dv] (rows padded by one), S_ij [R, C]. */
export const forwardShared =
  (Dh: number, Dv: number): SharedFloats =>
  (R, C) =>
    R * (Dh + 1) + C * (Dh + Dv + 2) + R * C;

export class FlashForwardProgram extends FlashProgram {
  constructor(
    dims: { B: number; H: number; Lq: number; Dh: number; Dv: number },
    tiles: Tiles,
    masks: MaskFlags,
  ) {
    super(
      'weftFlashForward',
      ['Q', 'K', 'V', ...maskVariables(masks)],
      [dims.B, dims.H, dims.Lq, dims.Dv + 1],
      dims.Lq,
      dims.B * dims.H,
      dims.Dh,
      dims.Dv,
      tiles,
      masks,
    );
  }

  getUserCode(): string {
    const { T } = this.tiles;
    return `
  ${commonWgsl(this.tiles, this.dh, this.dv, this.masks)}
  const NV = ${Math.ceil(this.dv / T)}; // output columns per lane

  var<workgroup> Qs : array<f32, ${this.tiles.R * (this.dh + 1)}>;
  var<workgroup> Ks : array<f32, ${this.tiles.C * (this.dh + 1)}>;
  var<workgroup> Vs : array<f32, ${this.tiles.C * (this.dv + 1)}>;
  var<workgroup> Ss : array<f32, ${this.tiles.R * this.tiles.C}>;
  var<workgroup> keyTiles : i32;

  fn main(index : i32) {
    let tid = i32(localIndex);
    let r = tid / T;
    let lane = tid % T;
    let H = uniforms.qShape[1];
    let Lq = uniforms.qShape[2];
    let Hkv = uniforms.kShape[1];
    let Lk = uniforms.kShape[2];
    let bh = i32(workgroupId.y);
    let b = bh / H;
    let hk = (bh % H) / (H / Hkv); // GQA: query head h reads kv head floor(h / G)
    let q0 = i32(workgroupId.x) * R;
    let i = q0 + r;
    let kvRow = (b * Hkv + hk) * Lk;

    ${loadRows({ dst: 'Qs', src: 'Q', base: 'bh * Lq', first: 'q0', rows: 'R', limit: 'Lq', width: 'DH' })}
    if (tid == 0) {
      // causal: keys after the tile's last query (+ offset) are never computed
      var keys = Lk;
      ${this.masks.causal ? 'keys = clamp(min(q0 + R, Lq) + uniforms.queryOffset, 0, Lk);' : ''}
      keyTiles = (keys + C - 1) / C;
    }
    let nTiles = workgroupUniformLoad(&keyTiles);

    var m = MASKED;
    var l = 0.0;
    var acc : array<f32, NV>;
    for (var t = 0; t < nTiles; t++) {
      let k0 = t * C;
      ${loadRows({ dst: 'Ks', src: 'K', base: 'kvRow', first: 'k0', rows: 'C', limit: 'Lk', width: 'DH' })}
      ${loadRows({ dst: 'Vs', src: 'V', base: 'kvRow', first: 'k0', rows: 'C', limit: 'Lk', width: 'DV' })}
      workgroupBarrier();
      for (var c = lane; c < C; c += T) {
        var s = MASKED;
        if (visible(b, i, k0 + c)) {
          var dot = 0.0;
          for (var d = 0; d < DH; d++) { dot += Qs[r * DH1 + d] * Ks[c * DH1 + d]; }
          s = dot * uniforms.scale;
        }
        Ss[r * C + c] = s;
      }
      workgroupBarrier();
      var mNew = m;
      for (var c = 0; c < C; c++) { mNew = max(mNew, Ss[r * C + c]); }
      let alpha = exp(m - mNew);
      for (var n = 0; n < NV; n++) { acc[n] *= alpha; }
      var rowSum = 0.0;
      for (var c = 0; c < C; c++) {
        let s = Ss[r * C + c];
        let p = select(0.0, exp(s - mNew), s > MASKED);
        rowSum += p;
        for (var n = 0; n < NV; n++) {
          let o = lane + n * T;
          if (o < DV) { acc[n] += p * Vs[c * DV1 + o]; }
        }
      }
      l = alpha * l + rowSum;
      m = mNew;
      workgroupBarrier();
    }

    if (i < Lq) {
      let base = (bh * Lq + i) * (DV + 1);
      let seen = l > 0.0;
      let inv = select(0.0, 1.0 / l, seen);
      for (var n = 0; n < NV; n++) {
        let o = lane + n * T;
        if (o < DV) { result[base + o] = acc[n] * inv; }
      }
      if (lane == 0) { result[base + DV] = select(uniforms.INFINITY, m + log(select(1.0, l, seen)), seen); }
    }
  }
  `;
  }
}
