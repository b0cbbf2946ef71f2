/**
 * The fused FlashAttention path: tensors in, tensors out, through the WASM SIMD kernel
 * (FlashAttention_impl.ts). Inputs are read back to the host once (`dataSync`; on the wasm
 * backend that is a copy out of tfjs's heap) and copied into the kernel's own memory, so it
 * runs beside any backend; `auto` picks it on the wasm backend.
 *
 * It is not registered as a tfjs kernel: a lazy logit bias is evaluated tile strip by tile
 * strip with tfjs ops between kernel calls, and the backward accumulates dK, dV in the
 * kernel's memory across those calls, neither of which fits one pure kernel invocation.
 */
import { tf, type Tensor } from '@weft/core';
import { scaleArray, type FlashPlan } from '../../plan.js';
import { fusedBackward, fusedForward, type FusedProblem } from './FlashAttention_impl.js';

function problem(plan: FlashPlan): FusedProblem {
  const p: FusedProblem = {
    B: plan.B,
    H: plan.H,
    Hkv: plan.Hkv,
    Lq: plan.Lq,
    Lk: plan.Lk,
    Dh: plan.Dh,
    Dv: plan.Dv,
    causal: plan.causal,
    queryOffset: plan.queryOffset,
    blockQ: plan.blockQ,
    blockK: plan.blockK,
    scale: scaleArray(plan),
    keyBias: plan.keyBias,
    qSeg: plan.qSeg,
    kSeg: plan.kSeg,
    table: plan.table,
  };
  const bias = plan.logitBias;
  if (bias) {
    p.biasStrip = (qa, qe) => {
      const t = bias({ start: qa, end: qe }, { start: 0, end: plan.Lk }); // [Bb, Hb, qe - qa, Lk]
      const [batch, heads, r, c] = t.shape;
      if (t.rank !== 4 || r !== qe - qa || c !== plan.Lk || (batch !== 1 && batch !== plan.B) || (heads !== 1 && heads !== plan.H)) {
        const shape = `[${t.shape.join(', ')}]`;
        t.dispose();
        throw new Error(`flash attention: logitBias returned ${shape} for rows [${qa}, ${qe}); expected [1 or ${plan.B}, 1 or ${plan.H}, ${qe - qa}, ${plan.Lk}].`);
      }
      const data = t.dataSync() as Float32Array;
      const copy = Float32Array.from(data);
      t.dispose();
      return { data: copy, batch, heads };
    };
  }
  return p;
}

const f32 = (t: Tensor) => t.dataSync() as Float32Array;

export function fusedFlashForward(plan: FlashPlan, q: Tensor, k: Tensor, v: Tensor): { out: Tensor; lse: Tensor } {
  const { out, lse } = fusedForward(problem(plan), f32(q), f32(k), f32(v));
  return {
    out: tf.tensor4d(out, [plan.B, plan.H, plan.Lq, plan.Dv]),
    lse: tf.tensor3d(lse, [plan.B, plan.H, plan.Lq]),
  };
}

export function fusedFlashBackward(
  plan: FlashPlan,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  dO: Tensor,
): { dq: Tensor; dk: Tensor; dv: Tensor; dscale?: Tensor } {
  const wantScale = typeof plan.scale !== 'number';
  const g = fusedBackward(problem(plan), { q: f32(q), k: f32(k), v: f32(v), o: f32(o), lse: f32(lse), dO: f32(dO) }, wantScale);
  return {
    dq: tf.tensor4d(g.dq, [plan.B, plan.H, plan.Lq, plan.Dh]),
    dk: tf.tensor4d(g.dk, [plan.B, plan.Hkv, plan.Lk, plan.Dh]),
    dv: tf.tensor4d(g.dv, [plan.B, plan.Hkv, plan.Lk, plan.Dv]),
    dscale: g.dscale ? tf.tensor1d(g.dscale) : undefined,
  };
}
