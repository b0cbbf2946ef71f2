/**
 * Linformer — Wang et al., "Linformer: Self-Attention with Linear Complexity" (2020,
 * arXiv 2006.04768), eq. (7): keys and values are projected ALONG THE SEQUENCE to k rows by
 * learned matrices E, F, so attention costs O(n·k) instead of O(n²).
 *
 * Notation (paper → code), per head, rows are positions:
 *   Q, K, V ∈ R^{n×d}        [B, H, n, Dh]                                   `q`, `k`, `v`
 *   E, F ∈ R^{k×n}           stored TRANSPOSED as (n, k), like the reference code's
 *                            (seq_len, k) parameters: K̄ = einsum('bnd,nk->bkd', K, E)  `E`, `F`
 *   n                        the length E, F are built for (`seqLen`, default the model's maxLen);
 *                            a shorter input of length L uses the first L rows E[:L]
 *   k                        the projected length (`k`)
 *   eq. (7):  head = softmax( Q (E K)ᵀ / √d ) · (F V)                   [B, H, n, Dh]
 *             with E K ≡ Eᵀ-contraction over positions = K̄ [B, H, k, Dh], F V ≡ V̄ [B, H, k, Dv]
 *   Sharing (§4): 'none' (E_i, F_i per head), 'headwise' (E, F shared by the heads of a layer),
 *   'key-value' (also E = F), 'layerwise' (one E for every head, K and V, and every layer).
 *   Init U(−1/√k, 1/√k) (the reference code's init of E, F).
 * The projection mixes all positions, so Linformer is bidirectional only (§4 leaves causal
 * masking out); the softmax is over the k projected rows, so an additive logit bias over key
 * positions has nothing to attach to.
 */
import { init, Module, ShapeError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type Rng, type Tensor } from '@weft/core';

export type LinformerSharing = 'none' | 'headwise' | 'key-value' | 'layerwise';

export const LINFORMER_CAPABILITIES: AttentionCapabilities = {
  causal: false,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: false,
  weights: false,
};

export interface LinformerShape {
  /** Projected length k. */
  k: number;
  /** Sequence length n that E, F are built for. */
  seqLen: number;
  sharing: LinformerSharing;
}

/**
 * Project x [B, H, L, D] along the sequence with P (n, k) (shared by all heads) or (H, n, k)
 * (one per head), using its first L rows: einsum('bhnd,nk->bhkd'). Returns [B, H, k, D].
 */
export function projectSequence(x: Tensor, P: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, H, L, D] = x.shape as number[];
    const k = (P.shape as number[])[P.rank - 1];
    if (P.rank === 2) {
      const Pl = tf.slice(P, [0, 0], [L, k]); // [L, k]
      const xt = tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [B * H * D, L]); // [B·H·D, L]
      return tf.transpose(tf.reshape(tf.matMul(xt, Pl), [B, H, D, k]), [0, 1, 3, 2]); // [B, H, k, D]
    }
    const Pl = tf.slice(P, [0, 0, 0], [H, L, k]); // [H, L, k]
    const xt = tf.reshape(tf.transpose(x, [1, 0, 3, 2]), [H, B * D, L]); // [H, B·D, L]
    return tf.transpose(tf.reshape(tf.matMul(xt, Pl), [H, B, D, k]), [1, 0, 3, 2]); // [B, H, k, D]
  });
}

/**
 * The op as a function (for gradient checks and tests): eq. (7) with K̄ = proj(K, E),
 * V̄ = proj(V, F). q [B, H, Lq, Dh], k [B, H, L, Dh], v [B, H, L, Dv]; E, F (n, k) or (H, n, k);
 * `scale` a number or a per-head [H] tensor. Returns [B, H, Lq, Dv].
 */
export function linformerAttention(q: Tensor, k: Tensor, v: Tensor, E: Tensor, F: Tensor, scale: number | Tensor): Tensor {
  return tf.tidy(() => {
    const H = (q.shape as number[])[1];
    const kBar = projectSequence(k, E); // [B, H, k, Dh]
    const vBar = projectSequence(v, F); // [B, H, k, Dv]
    const s = typeof scale === 'number' ? scale : tf.reshape(scale, [1, H, 1, 1]);
    const P = tf.softmax(tf.mul(tf.matMul(q, kBar, false, true), s)); // [B, H, Lq, k], softmax over k
    return tf.matMul(P, vBar); // [B, H, Lq, Dv]
  });
}

function repeatHeads(x: Tensor, heads: number): Tensor {
  const [B, Hkv, L, D] = x.shape as number[];
  if (Hkv === heads) return x;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, L, D]), [1, 1, heads / Hkv, 1, 1]), [B, heads, L, D]); // [B, H, L, D]
}

/** Layerwise sharing: the one E of a model, created by its first Linformer layer. */
export interface SharedProjection {
  E?: tf.Variable;
  shape?: LinformerShape;
  ownerLayer?: number;
}

/**
 * The kernel: a core Module holding E and F (which the attention mixer adopts, so they are
 * trained and saved). Parameter names: `E`, `F` ((n, k), or (H, n, k) with sharing 'none'); 'key-value'
 * has only `E`; 'layerwise' registers `E` on the first layer only — later layers use the same
 * variable without re-registering it (it is counted, trained and saved once).
 */
export class LinformerAttention extends Module implements AttentionKernel {
  readonly supports = LINFORMER_CAPABILITIES;
  readonly E: tf.Variable;
  readonly F: tf.Variable;

  constructor(
    readonly shape: LinformerShape,
    readonly heads: number,
    rng: Rng,
    shared?: { store: SharedProjection; layerIndex: number; path: string },
  ) {
    super();
    const { k, seqLen, sharing } = shape;
    const bound = 1 / Math.sqrt(k);
    const uniform = init.uniform(-bound, bound);
    const dims = sharing === 'none' ? [heads, seqLen, k] : [seqLen, k];
    if (sharing === 'layerwise' && shared) {
      const { store } = shared;
      if (!store.E) {
        store.E = this.addParameter('E', dims, uniform, rng);
        store.shape = shape;
        store.ownerLayer = shared.layerIndex;
      } else if (store.shape!.k !== k || store.shape!.seqLen !== seqLen) {
        throw new ShapeError(
          `${shared.path}: linformer sharing "layerwise" shares one E across layers, but this layer asks for k=${k}, seqLen=${seqLen} while layer ${store.ownerLayer} built k=${store.shape!.k}, seqLen=${store.shape!.seqLen}. Give every Linformer layer the same k and seqLen.`,
        );
      }
      this.E = store.E;
      this.F = store.E;
      return;
    }
    this.E = this.addParameter('E', dims, uniform, rng);
    this.F = sharing === 'key-value' || sharing === 'layerwise' ? this.E : this.addParameter('F', dims, uniform, rng);
  }

  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): Tensor {
    const H = (q.shape as number[])[1];
    const L = (k.shape as number[])[2];
    if (ctx.causal) throw new ShapeError('linformer attention is bidirectional only (E, F mix all n positions into k rows); use a causal kernel such as dense or linear for a decoder');
    if (ctx.keyPaddingMask) throw new ShapeError('linformer attention: key padding is not supported (padded rows would be projected into every k row); use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('linformer attention: an additive logit bias is not supported (the softmax is over the k projected rows, not over key positions)');
    if (L > this.shape.seqLen) {
      throw new ShapeError(`linformer attention: the input has ${L} positions but E, F were built for seqLen=${this.shape.seqLen}; set the attention option seqLen (or the model's maxLen) to at least ${L}`);
    }
    if (this.shape.sharing === 'none' && H !== this.heads) {
      throw new ShapeError(`linformer attention (sharing "none"): built with ${this.heads} per-head projections, got ${H} query heads`);
    }
    return tf.tidy(() => linformerAttention(q, repeatHeads(k, H), repeatHeads(v, H), this.E, this.F, ctx.scale));
  }
}
