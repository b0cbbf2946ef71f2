/**
 * The dQ pass of the FlashAttention backward (FA2 Algorithm 2, lines 10–15, with the query
 * tile as the outer, parallel loop): one workgroup per (query tile of R rows, batch·head);
 * K_j, V_j tiles of C keys stream through workgroup memory, and the probabilities are
 * recomputed from the saved logsumexp L, so no Lq × Lk buffer exists and no two workgroups
 * write the same dQ row (no atomics).
 *
 *   P_ij = exp(scale · Q_i K_jᵀ − L_i)  (0 where masked)      line 11
 *   dP_ij = dO_i V_jᵀ,   dS_ij = P_ij ∘ (dP_ij − D_i)         lines 13–14
 *   dQ_i += scale · dS_ij K_j                                  line 15
 *
 * Inputs: Q [B, H, Lq, Dh], K [B, Hkv, Lk, Dh], V [B, Hkv, Lk, Dv], the masks (program.ts),
 * DO [B, H, Lq, Dv], Lse [B, H, Lq], Dd [B, H, Lq] (D = rowsum(dO ∘ O)). Output dQ [B, H, Lq, Dh].
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

/** Workgroup floats: Q_i [R, Dh], dO_i [R, Dv], K_j [C, Dh], V_j [C, Dv] (rows padded by one), dS_ij [R, C]. */
export const backwardQShared =
  (Dh: number, Dv: number): SharedFloats =>
  (R, C) =>
    (R + C) * (Dh + Dv + 2) + R * C;

export class FlashBackwardQProgram extends FlashProgram {
  constructor(
    dims: { B: number; H: number; Lq: number; Dh: number; Dv: number },
    tiles: Tiles,
    masks: MaskFlags,
  ) {
    super(
      'weftFlashBackwardQ',
      ['Q', 'K', 'V', ...maskVariables(masks), 'DO', 'Lse', 'Dd'],
      [dims.B, dims.H, dims.Lq, dims.Dh],
      dims.Lq,
      dims.B * dims.H,
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
  const NQ = ${Math.ceil(this.dh / T)}; // dQ columns per lane

  var<workgroup> Qs : array<f32, ${R * (this.dh + 1)}>;
  var<workgroup> dOs : array<f32, ${R * (this.dv + 1)}>;
  var<workgroup> Ks : array<f32, ${C * (this.dh + 1)}>;
  var<workgroup> Vs : array<f32, ${C * (this.dv + 1)}>;
  var<workgroup> dSs : array<f32, ${R * C}>;
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
    let hk = (bh % H) / (H / Hkv);
    let q0 = i32(workgroupId.x) * R;
    let i = q0 + r;
    let kvRow = (b * Hkv + hk) * Lk;

    ${loadRows({ dst: 'Qs', src: 'Q', base: 'bh * Lq', first: 'q0', rows: 'R', limit: 'Lq', width: 'DH' })}
    ${loadRows({ dst: 'dOs', src: 'DO', base: 'bh * Lq', first: 'q0', rows: 'R', limit: 'Lq', width: 'DV' })}
    var Li = 0.0;
    var Di = 0.0;
    if (i < Lq) {
      Li = Lse[bh * Lq + i];
      Di = Dd[bh * Lq + i];
    }
    if (tid == 0) {
      var keys = Lk;
      ${this.masks.causal ? 'keys = clamp(min(q0 + R, Lq) + uniforms.queryOffset, 0, Lk);' : ''}
      keyTiles = (keys + C - 1) / C;
    }
    let nTiles = workgroupUniformLoad(&keyTiles);

    var acc : array<f32, NQ>;
    for (var t = 0; t < nTiles; t++) {
      let k0 = t * C;
      ${loadRows({ dst: 'Ks', src: 'K', base: 'kvRow', first: 'k0', rows: 'C', limit: 'Lk', width: 'DH' })}
      ${loadRows({ dst: 'Vs', src: 'V', base: 'kvRow', first: 'k0', rows: 'C', limit: 'Lk', width: 'DV' })}
      workgroupBarrier();
      for (var c = lane; c < C; c += T) {
        var dS = 0.0;
        if (visible(b, i, k0 + c)) {
          var s = 0.0;
          for (var d = 0; d < DH; d++) { s += Qs[r * DH1 + d] * Ks[c * DH1 + d]; }
          let p = exp(s * uniforms.scale - Li);
          var dP = 0.0;
          for (var o = 0; o < DV; o++) { dP += dOs[r * DV1 + o] * Vs[c * DV1 + o]; }
          dS = p * (dP - Di);
        }
        dSs[r * C + c] = dS;
      }
      workgroupBarrier();
      for (var c = 0; c < C; c++) {
        let dS = dSs[r * C + c];
        for (var n = 0; n < NQ; n++) {
          let d = lane + n * T;
          if (d < DH) { acc[n] += dS * Ks[c * DH1 + d]; }
        }
      }
      workgroupBarrier();
    }

    if (i < Lq) {
      for (var n = 0; n < NQ; n++) {
        let d = lane + n * T;
        if (d < DH) { result[(bh * Lq + i) * DH + d] = acc[n] * uniforms.scale; }
      }
    }
  }
  `;
  }
}
