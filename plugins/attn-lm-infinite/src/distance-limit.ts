/**
 * LM-Infinite's distance limit (Han et al. 2023, arXiv 2308.16137, §4): with a rotary encoding,
 * a key farther than L_pretrain from the query is scored as if it were exactly L_pretrain away,
 *
 *   d(p, j) = min(p − j, L_pretrain),   logit(p, j) = scale · (R_{d'} q)ᵀ (R_{d' − d(p,j)} k)
 *
 * for any reference position d' (only the difference of the two rotations matters).
 *
 * Notation (paper → code):
 *   L_pretrain  the pretraining length; the Λ mask's n_local                           `nLocal`
 *   R_m         the rotary map at position m (RoPE: R^d_Θ,m, RoFormer eq. 13)          `rotary.rotate`
 *   q_p, k_j    the kernel's inputs, already rotated at their positions p and j
 *   G           the global keys 0 .. min(n_global, Lk) − 1
 *
 * Under the Λ mask a local key is always closer than n_local = L_pretrain, so only the global
 * branch's far pairs (p − j ≥ n_local) need the clamp. For those we re-rotate, from the
 * already-rotated inputs, every query to position L_pretrain and every global key to position 0:
 *
 *   q̂_p = R_{L_pretrain − p} q_p = R_{L_pretrain} q,    k̂_j = R_{−j} k_j = R_0 k
 *   ⇒ q̂_pᵀ k̂_j = qᵀ R_{L_pretrain}ᵀ k: the RoPE score at distance L_pretrain, for every far pair.
 *
 * This needs R_a R_b = R_{a+b}, true for RoPE and its linear rescalings (`rope`, `rope-scaling`);
 * ROTARY_KINDS lists the encodings accepted. The block-sparse engine scores one q·k per slot,
 * so both branches go into one dot product of width 2·Dh: queries [q_p, q̂_p], window keys
 * [k_j, 0], and G extra "clamped" key rows [0, k̂_j] appended after the Lk keys (the Λ plan's
 * global slots point at them). Memory stays O(n): one extra [B, H, Lq, Dh] and [B, Hkv, G, Dh].
 */
import { tf, type AttentionContext, type ForwardContext, type IndexRange, type PositionalEncoding, type Tensor } from '@weft/core';
import type { BlockPlan } from '@weft/nn';
import type { LambdaPlan } from './lm-infinite.js';

/** Positional kinds whose rotations compose additively in position (R_a R_b = R_{a+b}). */
export const ROTARY_KINDS: readonly string[] = ['rope', 'rope-scaling'];

/** True when some query row is allowed a global slot (t < plan.G): a far pair the clamp changes. */
export function hasFarGlobalPairs(plan: LambdaPlan): boolean {
  const { nBlocks, bq, K, G } = plan;
  for (let r = 0; r < nBlocks * bq; r++) for (let t = 0; t < G; t++) if (plan.allowed[r * K + t]) return true;
  return false;
}

/** [B, L] int32 positions start .. start + L − 1 (when the context carries none). */
function rangePositions(B: number, L: number, start: number): Tensor {
  return tf.tile(tf.reshape(tf.range(start, start + L, 1, 'int32'), [1, L]), [B, 1]); // [B, L]
}

/** Appends the first G columns of a [B, Lk] tensor after its Lk columns: [B, Lk + G]. */
function withGlobalColumns(t: Tensor | undefined, G: number): Tensor | undefined {
  return t && tf.concat([t, tf.slice(t, [0, 0], [-1, G])], 1); // [B, Lk + G]
}

export interface ClampedInputs {
  q: Tensor; // [B, H, Lq, 2·Dh]
  k: Tensor; // [B, Hkv, Lk + G, 2·Dh]
  v: Tensor; // [B, Hkv, Lk + G, Dv]
  ctx: AttentionContext;
  /** The Λ plans with their global slots pointing at the clamped key rows Lk + t. */
  plans: BlockPlan[];
}

/**
 * Rewrites (q, k, v, ctx, plans) so the block-sparse engine scores the window slots at the true
 * distance and the global slots at distance nLocal. Call inside a tidy.
 */
export function clampGlobalDistances(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  ctx: AttentionContext,
  plans: LambdaPlan[],
  nLocal: number,
  rotary: PositionalEncoding,
): ClampedInputs {
  const [B, , Lq] = q.shape as number[];
  const Lk = (k.shape as number[])[2];
  const G = Math.max(...plans.map((p) => p.G)); // the clamped key rows appended: keys 0 .. G − 1
  const qPos = ctx.queryPositions ?? rangePositions(B, Lq, ctx.queryOffset); // [B, Lq]
  const kPos = ctx.keyPositions ?? rangePositions(B, Lk, 0); // [B, Lk]
  const kGlobal = tf.slice(k, [0, 0, 0, 0], [-1, -1, G, -1]); // [B, Hkv, G, Dh]
  const toLimit = tf.sub(tf.scalar(nLocal, 'int32'), qPos); // [B, Lq]: p → L_pretrain
  const toZero = tf.neg(tf.slice(kPos, [0, 0], [-1, G])); // [B, G]: j → 0
  const fctx: ForwardContext = { causal: true, training: ctx.training, positions: qPos, rng: ctx.rng, layerIndex: ctx.layerIndex, scratch: new Map() };
  const [qHat, kHat] = rotary.rotate!(q, kGlobal, toLimit, toZero, fctx); // [B, H, Lq, Dh], [B, Hkv, G, Dh]
  const q2 = tf.concat([q, qHat], 3); // [B, H, Lq, 2·Dh]
  const kWindow = tf.concat([k, tf.zerosLike(k)], 3); // [B, Hkv, Lk, 2·Dh]
  const kClamped = tf.concat([tf.zerosLike(kHat), kHat], 3); // [B, Hkv, G, 2·Dh]
  const k2 = tf.concat([kWindow, kClamped], 2); // [B, Hkv, Lk + G, 2·Dh]
  const v2 = tf.concat([v, tf.slice(v, [0, 0, 0, 0], [-1, -1, G, -1])], 2); // [B, Hkv, Lk + G, Dv]
  const clampedPlans = plans.map((plan) => {
    const kIdx = plan.kIdx.slice();
    for (let n = 0; n < plan.nBlocks; n++) for (let t = 0; t < plan.G; t++) kIdx[n * plan.K + t] = Lk + t;
    return { ...plan, kIdx };
  });
  const bias = ctx.logitBias;
  const ctx2: AttentionContext = {
    ...ctx,
    keyPaddingMask: withGlobalColumns(ctx.keyPaddingMask, G),
    keySegmentIds: withGlobalColumns(ctx.keySegmentIds, G),
    keyPositions: withGlobalColumns(ctx.keyPositions, G),
    // Clamped rows Lk + t are key t: ask the bias for the key's own column.
    logitBias: bias && ((qr: IndexRange, kr: IndexRange) => (kr.start >= Lk ? bias(qr, { start: kr.start - Lk, end: kr.end - Lk }) : bias(qr, kr))),
  };
  return { q: q2, k: k2, v: v2, ctx: ctx2, plans: clampedPlans };
}
