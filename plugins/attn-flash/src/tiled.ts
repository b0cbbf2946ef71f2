/**
 * FlashAttention written with tfjs ops, tile by tile, on any backend.
 *
 * Forward: FlashAttention-2 (Dao 2023) Algorithm 1 — for each query tile Q_i, an online
 * softmax over the key tiles K_j, V_j keeps a running row max m, normaliser ℓ and an
 * unnormalised output; the logsumexp L_i = m_i + log ℓ_i is returned for the backward pass.
 * Backward: Algorithm 2 — recompute P_ij = exp(S_ij - L_i) per tile from Q, K, V and L
 * (no L×L tensor is kept), with D_i = rowsum(dO_i ∘ O_i).
 *
 * Notation: see plan.ts. Tile shapes: Q_i [B, H, B_r, Dh], K_j [B, H, B_c, Dh] (kv heads
 * repeated to H for GQA, tile by tile), S_ij / P_ij [B, H, B_r, B_c].
 */
import { tf, type Tensor } from '@weft/core';
import type { BiasGradAccumulator } from './bias-grad.js';
import { tileMask, tileMaskTensor, tileRange, type FlashPlan } from './plan.js';

/** A stand-in for -inf in the row max that keeps exp(-inf - m) = 0 and never NaN. */
const FLOOR = -3e38;

/** [B, Hkv, n, D] -> [B, H, n, D]: query head h reads kv head floor(h / G), G = H / Hkv. */
function repeatKv(t: Tensor, plan: FlashPlan): Tensor {
  const G = plan.H / plan.Hkv;
  if (G === 1) return t;
  const [B, Hkv, n, D] = t.shape;
  return t.reshape([B, Hkv, 1, n, D]).tile([1, 1, G, 1, 1]).reshape([B, Hkv * G, n, D]); // [B, H, n, D]
}

/** [B, H, n, D] -> [B, Hkv, n, D]: sum the gradients of each GQA group. */
function reduceKv(t: Tensor, plan: FlashPlan): Tensor {
  const G = plan.H / plan.Hkv;
  if (G === 1) return t;
  const [B, , n, D] = t.shape;
  return t.reshape([B, plan.Hkv, G, n, D]).sum(2); // [B, Hkv, n, D]
}

function rows(t: Tensor, start: number, end: number): Tensor {
  const [B, H, , D] = t.shape;
  return t.slice([0, 0, start, 0], [B, H, end - start, D]);
}

function scaleTensor(plan: FlashPlan): Tensor | number {
  return typeof plan.scale === 'number' ? plan.scale : plan.scale.reshape([1, plan.H, 1, 1]); // [1, H, 1, 1]
}

/** S_ij = scale · Q_i K_jᵀ + bias_ij + mask_ij, [B, H, B_r, B_c]; also the raw Q_i K_jᵀ. */
function tileLogits(plan: FlashPlan, i: number, j: number, qi: Tensor, kj: Tensor, mask: Tensor | null): { s: Tensor; raw: Tensor } {
  const { qa, qe, ka, ke } = tileRange(plan, i, j);
  const raw = tf.matMul(qi, kj, false, true); // [B, H, B_r, B_c]
  let s = tf.mul(raw, scaleTensor(plan));
  if (plan.logitBias) s = s.add(plan.logitBias({ start: qa, end: qe }, { start: ka, end: ke }));
  if (mask) s = s.add(mask);
  return { s, raw };
}

/** Replace `acc` by `f(acc)` and free the old tensor (keeps accumulators O(tile)). */
function update<T extends Tensor[]>(old: T, f: () => T): T {
  const next = tf.tidy(f);
  tf.dispose(old);
  return next;
}

/** Forward: O [B, H, Lq, Dv] and lse [B, H, Lq] (+inf on fully masked rows). */
export function tiledForward(plan: FlashPlan, q: Tensor, k: Tensor, v: Tensor): { out: Tensor; lse: Tensor } {
  const { B, H, Dv } = plan;
  const outs: Tensor[] = [];
  const lses: Tensor[] = [];
  for (let i = 0; i < plan.nQB; i++) {
    const { qa, qe } = tileRange(plan, i, 0);
    const n = qe - qa;
    const [o, l] = tf.tidy(() => {
      const qi = rows(q, qa, qe); // [B, H, B_r, Dh]
      // Algorithm 1 line 5: O_i = 0, ℓ_i = 0, m_i = -inf
      let state: Tensor[] = [tf.fill([B, H, n, 1], -Infinity), tf.zeros([B, H, n, 1]), tf.zeros([B, H, n, Dv])];
      for (let j = 0; j < plan.nKB; j++) {
        const mask = tileMask(plan, i, j);
        if (mask.kind === 'skip') continue; // causal / padding / block-sparse: tile never computed
        const { ka, ke } = tileRange(plan, i, j);
        state = update(state, () => {
          const [m, l, acc] = state;
          const kj = repeatKv(rows(k, ka, ke), plan); // [B, H, B_c, Dh]
          const vj = repeatKv(rows(v, ka, ke), plan); // [B, H, B_c, Dv]
          const { s } = tileLogits(plan, i, j, qi, kj, tileMaskTensor(mask, n, ke - ka)); // line 8
          const mNew = tf.maximum(m, s.max(-1, true)); // line 9: m_i^(j) = max(m_i^(j-1), rowmax S_ij)
          const mSafe = tf.maximum(mNew, FLOOR);
          const p = tf.exp(s.sub(mSafe)); // P̃_ij = exp(S_ij - m_i^(j))        [B, H, B_r, B_c]
          const alpha = tf.exp(m.sub(mSafe)); // e^{m^(j-1) - m^(j)}            [B, H, B_r, 1]
          const lNew = alpha.mul(l).add(p.sum(-1, true)); // ℓ^(j) = e^{..} ℓ^(j-1) + rowsum P̃
          const accNew = alpha.mul(acc).add(tf.matMul(p, vj)); // line 10: O^(j) = diag(e^{..}) O^(j-1) + P̃ V_j
          return [mNew, lNew, accNew];
        });
      }
      const [m, l, acc] = state;
      const seen = l.greater(0);
      const out = acc.div(tf.where(seen, l, tf.onesLike(l))); // line 12: O_i = diag(ℓ)^-1 O_i (0 if fully masked)
      const lse = tf.where(seen, tf.maximum(m, FLOOR).add(tf.log(tf.where(seen, l, tf.onesLike(l)))), tf.fill(l.shape, Infinity)); // line 13
      return [out, lse.reshape([B, H, n])];
    });
    outs.push(o);
    lses.push(l);
  }
  const out = outs.length === 1 ? outs[0] : tf.concat(outs, 2); // [B, H, Lq, Dv]
  const lse = lses.length === 1 ? lses[0] : tf.concat(lses, 2); // [B, H, Lq]
  if (outs.length > 1) tf.dispose([...outs, ...lses]);
  return { out, lse };
}

/**
 * Backward (FA2 Algorithm 2): outer loop over key tiles, inner over query tiles.
 * Returns dQ, dK, dV (kv-head shaped) and, for a per-head scale tensor, dscale [H]. With
 * `biasGrad`, each tile's dS_ij (= ∂loss/∂b_ij) is also handed to it (see bias-grad.ts).
 */
export function tiledBackward(
  plan: FlashPlan,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  dO: Tensor,
  biasGrad?: BiasGradAccumulator,
): { dq: Tensor; dk: Tensor; dv: Tensor; dscale?: Tensor } {
  const { B, H, Dh } = plan;
  const wantScale = typeof plan.scale !== 'number';
  const D = tf.tidy(() => tf.sum(tf.mul(dO, o), -1, true)); // line 4: D = rowsum(dO ∘ O)  [B, H, Lq, 1]
  const lse4 = lse.expandDims(-1); // [B, H, Lq, 1]
  const dqs: Tensor[] = [];
  for (let i = 0; i < plan.nQB; i++) {
    const { qa, qe } = tileRange(plan, i, 0);
    dqs.push(tf.zeros([B, H, qe - qa, Dh]));
  }
  let dscale: Tensor[] = wantScale ? [tf.zeros([H])] : [];
  const dks: Tensor[] = [];
  const dvs: Tensor[] = [];
  for (let j = 0; j < plan.nKB; j++) {
    const { ka, ke } = tileRange(plan, 0, j);
    const kj = tf.tidy(() => repeatKv(rows(k, ka, ke), plan)); // [B, H, B_c, Dh]
    const vj = tf.tidy(() => repeatKv(rows(v, ka, ke), plan)); // [B, H, B_c, Dv]
    let acc: Tensor[] = [tf.zeros(kj.shape), tf.zeros(vj.shape)]; // line 7: dK_j = 0, dV_j = 0
    for (let i = 0; i < plan.nQB; i++) {
      const mask = tileMask(plan, i, j);
      if (mask.kind === 'skip') continue;
      const { qa, qe } = tileRange(plan, i, j);
      const step = tf.tidy(() => {
        const qi = rows(q, qa, qe);
        const dOi = rows(dO, qa, qe);
        const { s, raw } = tileLogits(plan, i, j, qi, kj, tileMaskTensor(mask, qe - qa, ke - ka)); // line 10
        const p = tf.exp(s.sub(rows(lse4, qa, qe))); // line 11: P_ij = exp(S_ij - L_i)
        const dV = tf.matMul(p, dOi, true, false); // line 12: dV_j += P_ijᵀ dO_i
        const dP = tf.matMul(dOi, vj, false, true); // line 13: dP_ij = dO_i V_jᵀ
        const dS = p.mul(dP.sub(rows(D, qa, qe))); // line 14: dS_ij = P_ij ∘ (dP_ij - D_i)
        const sc = scaleTensor(plan);
        const dQ = tf.mul(tf.matMul(dS, kj), sc); // line 15: dQ_i += scale dS_ij K_j
        const dK = tf.mul(tf.matMul(dS, qi, true, false), sc); // line 16: dK_j += scale dS_ijᵀ Q_i
        const out: Tensor[] = [dQ, dK, dV, wantScale ? tf.sum(dS.mul(raw), [0, 2, 3]) : tf.scalar(0)]; // ∂/∂scale_h = Σ dS ∘ Q Kᵀ  [H]
        if (biasGrad) out.push(dS); // ∂loss/∂b_ij = dS_ij
        return out;
      });
      const [dQ, dK, dV, dScaleTile, dS] = step;
      const dSc = wantScale ? dScaleTile : undefined;
      if (biasGrad) biasGrad.add(i, j, dS);
      const old = dqs[i];
      dqs[i] = tf.add(old, dQ);
      acc = update(acc, () => [acc[0].add(dK), acc[1].add(dV)]);
      if (dSc) dscale = update(dscale, () => [dscale[0].add(dSc)]);
      tf.dispose([old, ...step]);
    }
    const [dKj, dVj] = [tf.tidy(() => reduceKv(acc[0], plan)), tf.tidy(() => reduceKv(acc[1], plan))];
    dks.push(dKj);
    dvs.push(dVj);
    tf.dispose([kj, vj, ...acc.filter((t) => t !== dKj && t !== dVj)]);
  }
  const cat = (ts: Tensor[]) => {
    if (ts.length === 1) return ts[0];
    const c = tf.concat(ts, 2);
    tf.dispose(ts);
    return c;
  };
  tf.dispose([D, lse4]);
  return { dq: cat(dqs), dk: cat(dks), dv: cat(dvs), dscale: wantScale ? dscale[0] : undefined };
}
