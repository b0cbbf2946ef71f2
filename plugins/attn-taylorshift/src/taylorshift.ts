/**
 * TaylorShift — Nauen, Palacio, Dengel, "TaylorShift: Shifting the Complexity of Self-Attention
 * from Squared to Linear (and Back) using Taylor-Softmax" (ICPR 2024, arXiv 2403.02920).
 * Softmax is replaced by its 2nd-order Taylor expansion, normalised (Taylor-Softmax):
 *
 *   T-SM(x)_j = (1 + x_j + x_j²/2) / Σ_l (1 + x_l + x_l²/2)            (always > 0)
 *   direct-TaylorShift:    Y = T-SM(Q Kᵀ) V                      O(N²d)  — `taylorDirect`
 *   efficient-TaylorShift: with φ(x) = [1, x, vec(x⊗x)/√2] ∈ R^{1+d+d²},
 *                          φ(q)·φ(k) = 1 + q·k + (q·k)²/2, so
 *                          Y = φ(Q) (φ(K)ᵀ V) / φ(Q) (φ(K)ᵀ 1)      O(N d³)  — `taylorEfficient`
 *   The two are the same function; the kernel uses the efficient form when N > N0
 *   (`crossover`, default the paper's N0 = d² + d + 1, the length where both cost the same).
 *   Causal: the mask is applied before normalising (direct), or φ(k_j)[1, v_j]ᵀ is summed over
 *   j ≤ t by a cumulative sum (efficient).
 * Input normalisation (`normalizeInput`, the reference default): q̂ = τ_h q/‖q‖, k̂ = k/‖k‖ with a
 * learned per-head temperature τ (init 1), so x = τ cos(q, k) ∈ [−τ, τ]; the mixer's 1/√d is
 * then not used. Without it, x = scale · q·k (the mixer's scale).
 *
 * Notation: Q, K [B, H, N, d], V [B, H, N, dv]; φ(·) [B, H, N, F] with F = 1 + d + d².
 */
import { init, Module, ShapeError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Rng, type Tensor } from '@weft/core';

export const TAYLORSHIFT_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: false,
  weights: false,
};

/** φ(x) = [1, x, vec(x⊗x)/√2]: x [B, H, N, d] → [B, H, N, 1 + d + d²]. */
export function taylorFeatures(x: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, N, d] = x.shape as number[];
    const outer = tf.reshape(tf.mul(tf.reshape(x, [B, H, N, d, 1]), tf.reshape(x, [B, H, N, 1, d])), [B, H, N, d * d]); // [B, H, N, d²]
    return tf.concat([tf.onesLike(tf.slice(x, [0, 0, 0, 0], [B, H, N, 1])), x, tf.mul(outer, Math.SQRT1_2)], -1); // [B, H, N, 1 + d + d²]
  });
}

/** Direct form: T-SM(Q Kᵀ) V with an optional causal mask (query i sees keys j ≤ i + offset). */
export function taylorDirect(q: Tensor, k: Tensor, v: Tensor, causal: boolean, queryOffset = 0): Tensor {
  return tf.tidy(() => {
    const Lq = (q.shape as number[])[2];
    const Lk = (k.shape as number[])[2];
    const x = tf.matMul(q, k, false, true); // [B, H, Lq, Lk]
    let w = tf.add(tf.add(tf.mul(tf.square(x), 0.5), x), 1); // 1 + x + x²/2
    if (causal) {
      const mask = tf.tidy(() => {
        const rows = tf.reshape(tf.range(0, Lq, 1, 'int32'), [Lq, 1]);
        const cols = tf.reshape(tf.range(0, Lk, 1, 'int32'), [1, Lk]);
        return tf.cast(tf.lessEqual(tf.sub(cols, queryOffset), tf.broadcastTo(rows, [Lq, Lk])), 'float32'); // [Lq, Lk]
      });
      w = tf.mul(w, mask);
    }
    return tf.div(tf.matMul(w, v), tf.sum(w, -1, true)); // [B, H, Lq, dv]
  });
}

/** Efficient form: φ(Q)(φ(K)ᵀ[1, V]); causal through a cumulative sum over positions (queryOffset 0). */
export function taylorEfficient(q: Tensor, k: Tensor, v: Tensor, causal: boolean): Tensor {
  return tf.tidy(() => {
    const [B, H, N, dv] = v.shape as number[];
    const fq = taylorFeatures(q); // [B, H, Nq, F]
    const fk = taylorFeatures(k); // [B, H, N, F]
    const F = (fk.shape as number[])[3];
    const v1 = tf.concat([tf.onesLike(tf.slice(v, [0, 0, 0, 0], [B, H, N, 1])), v], -1); // [B, H, N, 1 + dv]: column 0 gives the normaliser
    let y: Tensor;
    if (!causal) {
      y = tf.matMul(fq, tf.matMul(fk, v1, true, false)); // [B, H, Nq, 1 + dv]
    } else {
      const outer = tf.reshape(tf.mul(tf.reshape(fk, [B, H, N, F, 1]), tf.reshape(v1, [B, H, N, 1, dv + 1])), [B, H, N, F * (dv + 1)]); // [B, H, N, F·(1+dv)]
      const S = tf.reshape(tf.cumsum(outer, 2), [B * H * N, F, dv + 1]); // S_t = Σ_{j≤t} φ(k_j)[1, v_j]ᵀ
      y = tf.reshape(tf.matMul(tf.reshape(fq, [B * H * N, 1, F]), S), [B, H, N, dv + 1]); // [B, H, N, 1 + dv]
    }
    const norm = tf.slice(y, [0, 0, 0, 0], [B, H, (y.shape as number[])[2], 1]); // [B, H, Nq, 1]
    return tf.div(tf.slice(y, [0, 0, 0, 1], [B, H, (y.shape as number[])[2], dv]), norm); // [B, H, Nq, dv]
  });
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]); // [B, H, L, D]
}

export interface TaylorShiftSettings {
  normalizeInput: boolean;
  /** N0: the efficient form is used when the key length exceeds it; undefined = d² + d + 1. */
  crossover?: number;
}

/** The kernel: a core Module holding the per-head temperature τ [H] (with `normalizeInput`). */
export class TaylorShiftAttention extends Module implements AttentionKernel {
  readonly supports = TAYLORSHIFT_CAPABILITIES;
  readonly temperature?: tf.Variable;

  constructor(readonly settings: TaylorShiftSettings, readonly heads: number, rng: Rng) {
    super();
    if (settings.normalizeInput) this.temperature = this.addParameter('temperature', [heads], init.ones(), rng);
  }

  /** N0 for head width d. */
  crossoverFor(d: number): number {
    return this.settings.crossover ?? d * d + d + 1;
  }

  /** The inputs of T-SM: (q̂, k̂) with q̂·k̂ = x. */
  prepare(q: Tensor, k: Tensor, scale: number | Tensor): [Tensor, Tensor] {
    const H = (q.shape as number[])[1];
    if (!this.temperature) return [tf.mul(q, typeof scale === 'number' ? scale : tf.reshape(scale, [1, H, 1, 1])), k];
    const unit = (x: Tensor) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)); // F.normalize
    return [tf.mul(unit(q), tf.reshape(this.temperature, [1, H, 1, 1])), unit(k)];
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const [, H, Lq, d] = q.shape as number[];
    const Lk = (k.shape as number[])[2];
    if (ctx.keyPaddingMask) throw new ShapeError('taylorshift attention: key padding is not supported; use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('taylorshift attention: an additive logit bias is not supported (the efficient form never forms the logits)');
    if (this.temperature && H !== this.heads) throw new ShapeError(`taylorshift attention: built with ${this.heads} per-head temperatures, got ${H} query heads`);
    return tf.tidy(() => {
      const [qh, kh] = this.prepare(q, repeatHeads(k, H), ctx.scale);
      const vh = repeatHeads(v, H);
      const efficient = Lk > this.crossoverFor(d) && (!ctx.causal || (Lq === Lk && ctx.queryOffset === 0));
      return efficient ? taylorEfficient(qh, kh, vh, ctx.causal) : taylorDirect(qh, kh, vh, ctx.causal, ctx.queryOffset);
    });
  }
}
