/**
 * The dK/dV pass of the FlashAttention backward (FA2 Algorithm 2: the key tile is the outer,
 * parallel loop): one workgroup per (key tile of R rows, batch·kv head). K_j, V_j stay in
 * workgroup memory; for each query head of the GQA group, query tiles Q_i, dO_i of C rows
 * stream through it with their L_i and D_i. Each workgroup owns its dK_j, dV_j rows, so
 * there are no atomics, and the GQA group's sum happens in registers.
 *
 *   P_ij = exp(scale · Q_i K_jᵀ − L_i)  (0 where masked)      line 11
 *   dV_j += P_ijᵀ dO_i                                          line 12
 *   dP_ij = dO_i V_jᵀ,   dS_ij = P_ij ∘ (dP_ij − D_i)         lines 13–14
 *   dK_j += scale · dS_ijᵀ Q_i                                  line 16
 *
 * Inputs as FlashBackwardQProgram's. Output [B, Hkv, Lk, Dh + Dv]: dK in the first Dh
 * columns, dV in the last Dv.
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

/** Workgroup floats: K_j [R, Dh], V_j [R, Dv], Q_i [C, Dh], dO_i [C, Dv] (rows padded by one), P and dS [R, C], L_i and D_i [C]. */
export const backwardKVShared =
  (Dh: number, Dv: number): SharedFloats =>
  (R, C) =>
    (R + C) * (Dh + Dv + 2) + 2 * R * C + 2 * C;

export class FlashBackwardKVProgram extends FlashProgram {
  constructor(
    dims: { B: number; Hkv: number; Lk: number; Dh: number; Dv: number },
    tiles: Tiles,
    masks: MaskFlags,
  ) {
    super(
      'weftFlashBackwardKV',
      ['Q', 'K', 'V', ...maskVariables(masks), 'DO', 'Lse', 'Dd'],
      [dims.B, dims.Hkv, dims.Lk, dims.Dh + dims.Dv],
      dims.Lk,
      dims.B * dims.Hkv,
      dims.Dh,
      dims.Dv,
      tiles,
      masks,
    );
  }

  getUserCode(): string {
    const { R, C, T } = this.tiles;
    return `
  ${commonWgsl(this.tiles, this.dh, this.dv, this.masks)}
  const NK = ${Math.ceil(this.dh / T)}; // dK columns per lane
  const NV = ${Math.ceil(this.dv / T)}; // dV columns per lane

  var<workgroup> Ks : array<f32, ${R * (this.dh + 1)}>;
  var<workgroup> Vs : array<f32, ${R * (this.dv + 1)}>;
  var<workgroup> Qs : array<f32, ${C * (this.dh + 1)}>;
  var<workgroup> dOs : array<f32, ${C * (this.dv + 1)}>;
  var<workgroup> Ps : array<f32, ${R * C}>;
  var<workgroup> dSs : array<f32, ${R * C}>;
  var<workgroup> Ls : array<f32, C>;
  var<workgroup> Ds : array<f32, C>;
  var<workgroup> firstQueryTile : i32;

  fn main(index : i32) {
    let tid = i32(localIndex);
    let r = tid / T;
    let lane = tid % T;
    let H = uniforms.qShape[1];
    let Lq = uniforms.qShape[2];
    let Hkv = uniforms.kShape[1];
    let Lk = uniforms.kShape[2];
    let G = H / Hkv;
    let bk = i32(workgroupId.y);
    let b = bk / Hkv;
    let hk = bk % Hkv;
    let k0 = i32(workgroupId.x) * R;
    let j = k0 + r;

    ${loadRows({ dst: 'Ks', src: 'K', base: 'bk * Lk', first: 'k0', rows: 'R', limit: 'Lk', width: 'DH' })}
    ${loadRows({ dst: 'Vs', src: 'V', base: 'bk * Lk', first: 'k0', rows: 'R', limit: 'Lk', width: 'DV' })}
    if (tid == 0) {
      // causal: queries before the first one that sees key k0 are never computed
      var first = 0;
      ${this.masks.causal ? 'first = max(0, k0 - uniforms.queryOffset);' : ''}
      firstQueryTile = first / C;
    }
    let qt0 = workgroupUniformLoad(&firstQueryTile);
    let nQT = (Lq + C - 1) / C;

    var accK : array<f32, NK>;
    var accV : array<f32, NV>;
    for (var g = 0; g < G; g++) {
      let bh = b * H + hk * G + g; // the query heads that read kv head hk
      for (var qt = qt0; qt < nQT; qt++) {
        let i0 = qt * C;
        ${loadRows({ dst: 'Qs', src: 'Q', base: 'bh * Lq', first: 'i0', rows: 'C', limit: 'Lq', width: 'DH' })}
        ${loadRows({ dst: 'dOs', src: 'DO', base: 'bh * Lq', first: 'i0', rows: 'C', limit: 'Lq', width: 'DV' })}
        for (var x = tid; x < C; x += WG) {
          if (i0 + x < Lq) {
            Ls[x] = Lse[bh * Lq + i0 + x];
            Ds[x] = Dd[bh * Lq + i0 + x];
          } else {
            Ls[x] = 0.0;
            Ds[x] = 0.0;
          }
        }
        workgroupBarrier();
        for (var c = lane; c < C; c += T) {
          var p = 0.0;
          var dS = 0.0;
          if (visible(b, i0 + c, j)) {
            var s = 0.0;
            for (var d = 0; d < DH; d++) { s += Qs[c * DH1 + d] * Ks[r * DH1 + d]; }
            p = exp(s * uniforms.scale - Ls[c]);
            var dP = 0.0;
            for (var o = 0; o < DV; o++) { dP += dOs[c * DV1 + o] * Vs[r * DV1 + o]; }
            dS = p * (dP - Ds[c]);
          }
          Ps[r * C + c] = p;
          dSs[r * C + c] = dS;
        }
        workgroupBarrier();
        for (var c = 0; c < C; c++) {
          let p = Ps[r * C + c];
          let dS = dSs[r * C + c];
          for (var n = 0; n < NV; n++) {
            let o = lane + n * T;
            if (o < DV) { accV[n] += p * dOs[c * DV1 + o]; }
          }
          for (var n = 0; n < NK; n++) {
            let d = lane + n * T;
            if (d < DH) { accK[n] += dS * Qs[c * DH1 + d]; }
          }
        }
        workgroupBarrier();
      }
    }

    if (j < Lk) {
      let base = (bk * Lk + j) * (DH + DV);
      for (var n = 0; n < NK; n++) {
        let d = lane + n * T;
        if (d < DH) { result[base + d] = accK[n] * uniforms.scale; }
      }
      for (var n = 0; n < NV; n++) {
        let o = lane + n * T;
        if (o < DV) { result[base + DH + o] = accV[n]; }
      }
    }
  }
  `;
  }
}
