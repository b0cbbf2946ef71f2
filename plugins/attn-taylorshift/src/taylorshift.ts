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
 *   Causal: the mask is applied before normalising (direct); the efficient form is chunked
 *   (`chunk` C tokens): bidirectional, S = Σ_c φ(K_c)ᵀ[1, V_c] is accumulated chunk by chunk and
 *   applied to each query chunk; causal, the chunked parallel form U_c = (M ⊙ T(Q_c K_cᵀ)) [1, V_c]
 *   + φ(Q_c) S_{c−1} with T(x) = 1 + x + x²/2, M the causal mask and the carried state
 *   S_c = S_{c−1} + φ(K_c)ᵀ[1, V_c]. A tf.customGrad recomputes the chunk features in the backward
 *   pass, so forward and backward keep O(C·F + F·dv) per head instead of O(N·F).
 *   Decoding (`initState` / `attendStep`, `taylorStep`) continues the same causal chunked form
 *   from a kept S (one per key/value head), whatever the crossover: constant memory F·(1 + dv).
 * Input normalisation (`normalizeInput`, the reference default): q̂ = τ_h q/‖q‖, k̂ = k/‖k‖ with a
 * learned per-head temperature τ (init 1), so x = τ cos(q, k) ∈ [−τ, τ]; the mixer's 1/√d is
 * then not used. Without it, x = scale · q·k (the mixer's scale).
 *
 * Notation: Q, K [B, H, N, d], V [B, H, N, dv]; φ(·) [B, H, N, F] with F = 1 + d + d²; G = B·H;
 * C the chunk length; e = 1 + dv (V with a column of ones, whose output is the normaliser);
 * U [G, N, e] the unnormalised output; S [G, F, e] the key-side state; dX the cotangent of X.
 */
import { ConfigError, init, Module, ShapeError, StateError, tf, type AttentionCapabilities, type AttentionContext, type AttentionKernel, type AttentionStateDims, type LayerState, type Rng, type Tensor } from '@weft/core';
import { TaylorShiftState } from './taylorshift-state.js';

export const TAYLORSHIFT_CAPABILITIES: AttentionCapabilities = {
  causal: true,
  bidirectional: true,
  bias: false,
  padding: false,
  segments: false,
  decode: true,
  weights: false,
  state: true,
};

/** Tokens per chunk of the efficient form: peak memory O(C·F + F·(1 + dv)) per head, not O(N·F). */
export const DEFAULT_CHUNK = 256;

/** F = 1 + d + d², the feature width for head width d. */
export const featureWidth = (d: number): number => 1 + d + d * d;

/** φ(x) = [1, x, vec(x⊗x)/√2]: x [..., d] → [..., F], F = 1 + d + d², so φ(q)·φ(k) = 1 + q·k + (q·k)²/2. */
export function taylorFeatures(x: Tensor): Tensor {
  return tf.tidy(() => {
    const shape = x.shape as number[];
    const d = shape[shape.length - 1];
    const rows = tf.reshape(x, [-1, d]); // [n, d]
    const n = (rows.shape as number[])[0];
    const outer = tf.reshape(tf.mul(tf.reshape(rows, [n, d, 1]), tf.reshape(rows, [n, 1, d])), [n, d * d]); // [n, d²]
    const features = tf.concat([tf.ones([n, 1]), rows, tf.mul(outer, Math.SQRT1_2)], 1); // [n, F]
    return tf.reshape(features, [...shape.slice(0, -1), featureWidth(d)]); // [..., F]
  });
}

/** Vector-Jacobian product of φ at x [n, d] for the cotangent g [n, F]: dx = g_x + (G + Gᵀ) x / √2, G = g_{x⊗x} [n, d, d]. */
function featuresVjp(x: Tensor, g: Tensor): Tensor {
  return tf.tidy(() => {
    const [n, d] = x.shape as number[];
    const G = tf.reshape(tf.slice(g, [0, 1 + d], [n, d * d]), [n, d, d]); // [n, d, d]
    const xc = tf.reshape(x, [n, d, 1]); // [n, d, 1]
    const quad = tf.reshape(tf.add(tf.matMul(G, xc), tf.matMul(G, xc, true, false)), [n, d]); // [n, d]
    return tf.add(tf.slice(g, [0, 1], [n, d]), tf.mul(quad, Math.SQRT1_2)); // [n, d]
  });
}

/** Direct form: T-SM(Q Kᵀ) V with an optional causal mask (query i sees keys j ≤ i + offset). */
export function taylorDirect(q: Tensor, k: Tensor, v: Tensor, causal: boolean, queryOffset = 0): Tensor {
  return tf.tidy(() => {
    const Lq = (q.shape as number[])[2];
    const Lk = (k.shape as number[])[2];
    const x = tf.matMul(q, k, false, true); // [B, H, Lq, Lk]
    let w = tf.add(tf.add(tf.mul(tf.square(x), 0.5), x), 1); // 1 + x + x²/2
    if (causal) w = tf.mul(w, causalMask(Lq, Lk, queryOffset));
    return tf.div(tf.matMul(w, v), tf.sum(w, -1, true)); // [B, H, Lq, dv]
  });
}

/** [Lq, Lk] float mask, 1 where key j ≤ query i + offset. */
function causalMask(Lq: number, Lk: number, offset: number): Tensor {
  return tf.tidy(() => {
    const rows = tf.reshape(tf.range(0, Lq, 1, 'int32'), [Lq, 1]);
    const cols = tf.reshape(tf.range(0, Lk, 1, 'int32'), [1, Lk]);
    return tf.cast(tf.lessEqual(tf.sub(cols, offset), tf.broadcastTo(rows, [Lq, Lk])), 'float32'); // [Lq, Lk]
  });
}

/** customGrad's save function (the last argument of the forward). */
type Save = (tensors: Tensor[]) => void;

/** Rows [start, start + size) of x [G, N, e] along axis 1. */
const rowsOf = (x: Tensor, start: number, size: number): Tensor => tf.slice(x, [0, start, 0], [-1, size, -1]);

/** Chunk boundaries [start, size] of N tokens in chunks of C. */
function chunksOf(N: number, C: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < N; s += C) out.push([s, Math.min(C, N - s)]);
  return out;
}

/** Replace the held tensor by next, disposing the old one (a carried state outside any tidy). */
function carry(held: Tensor, next: Tensor): Tensor {
  held.dispose();
  return next;
}

/**
 * Bidirectional U = φ(Q) S with S = Σ_chunks φ(K_c)ᵀ V1_c: q [G, Nq, d], k [G, N, d],
 * v1 [G, N, e] → [G, Nq, e]. Peak O(C·F + F·e) per head; the gradient recomputes the chunk
 * features (two passes) instead of keeping them.
 */
function unnormalisedBidirectional(C: number) {
  const keySum = (k: Tensor, v1: Tensor): Tensor => {
    const [G, N, e] = v1.shape as number[];
    let S = tf.zeros([G, featureWidth((k.shape as number[])[2]), e]); // [G, F, e]
    for (const [s, n] of chunksOf(N, C)) S = carry(S, tf.tidy(() => tf.add(S, tf.matMul(taylorFeatures(rowsOf(k, s, n)), rowsOf(v1, s, n), true, false))));
    return S;
  };
  return tf.customGrad((...args: Array<Tensor | Save>) => {
    const [q, k, v1] = args as Tensor[];
    (args[3] as Save)([q, k, v1]);
    const S = keySum(k, v1);
    const value = concatDispose(chunksOf((q.shape as number[])[1], C).map(([s, n]) => tf.tidy(() => tf.matMul(taylorFeatures(rowsOf(q, s, n)), S)))); // [G, Nq, e]
    S.dispose();
    return {
      value,
      gradFunc: (dU: Tensor, saved: Tensor[]) => {
        const [qs, ks, v1s] = saved;
        const Ssum = keySum(ks, v1s);
        // Queries: dφ(Q_c) = dU_c Sᵀ; and Gsum = Σ_c φ(Q_c)ᵀ dU_c, the cotangent of S.
        let Gsum = tf.zerosLike(Ssum); // [G, F, e]
        const dq: Tensor[] = [];
        for (const [s, n] of chunksOf((qs.shape as number[])[1], C)) {
          const [dqc, next] = tf.tidy(() => {
            const qc = rowsOf(qs, s, n);
            const dUc = rowsOf(dU, s, n);
            const g = featuresVjpBatched(qc, tf.matMul(dUc, Ssum, false, true));
            return [g, tf.add(Gsum, tf.matMul(taylorFeatures(qc), dUc, true, false))];
          });
          dq.push(dqc);
          Gsum = carry(Gsum, next);
        }
        Ssum.dispose();
        // Keys: dφ(K_c) = V1_c Gsumᵀ, dV1_c = φ(K_c) Gsum.
        const dk: Tensor[] = [];
        const dv: Tensor[] = [];
        for (const [s, n] of chunksOf((ks.shape as number[])[1], C)) {
          const [dkc, dvc] = tf.tidy(() => {
            const kc = rowsOf(ks, s, n);
            const v1c = rowsOf(v1s, s, n);
            return [featuresVjpBatched(kc, tf.matMul(v1c, Gsum, false, true)), tf.matMul(taylorFeatures(kc), Gsum)];
          });
          dk.push(dkc);
          dv.push(dvc);
        }
        Gsum.dispose();
        return [concatDispose(dq), concatDispose(dk), concatDispose(dv)];
      },
    };
  });
}

/**
 * Causal U_i = Σ_{j≤i} w_ij V1_j in the chunked parallel form: within chunk c the masked direct
 * product (1 + x + x²/2 of Q_c K_cᵀ), plus φ(Q_c) S_{c−1} with the carried state
 * S_{c−1} = Σ_{c'<c} φ(K_c')ᵀ V1_c'. q, k [G, N, d], v1 [G, N, e] → [G, N, e]. The gradient
 * recomputes per chunk: a forward pass (S_{c−1}: dQ, and the intra-chunk dK, dV1) and a reverse
 * pass (Gs_c = Σ_{c'>c} φ(Q_c')ᵀ dU_c': the inter-chunk dK, dV1).
 */
function unnormalisedCausal(C: number) {
  const intra = (qc: Tensor, kc: Tensor, mask: Tensor) => {
    const x = tf.matMul(qc, kc, false, true); // [G, n, n]
    return { x, w: tf.mul(tf.add(tf.add(tf.mul(tf.square(x), 0.5), x), 1), mask) }; // masked 1 + x + x²/2
  };
  const masks = new Map<number, Tensor>();
  const maskOf = (n: number) => masks.get(n) ?? masks.set(n, tf.keep(causalMask(n, n, 0))).get(n)!;
  const disposeMasks = () => {
    for (const m of masks.values()) m.dispose();
    masks.clear();
  };
  return tf.customGrad((...args: Array<Tensor | Save>) => {
    const [q, k, v1] = args as Tensor[];
    (args[3] as Save)([q, k, v1]);
    const [G, N, e] = v1.shape as number[];
    let S = tf.zeros([G, featureWidth((q.shape as number[])[2]), e]); // [G, F, e]
    const out: Tensor[] = [];
    for (const [s, n] of chunksOf(N, C)) {
      const [Uc, next] = tf.tidy(() => {
        const [qc, kc, v1c] = [rowsOf(q, s, n), rowsOf(k, s, n), rowsOf(v1, s, n)];
        const Uc = tf.add(tf.matMul(intra(qc, kc, maskOf(n)).w, v1c), tf.matMul(taylorFeatures(qc), S)); // [G, n, e]
        return [Uc, tf.add(S, tf.matMul(taylorFeatures(kc), v1c, true, false))];
      });
      out.push(Uc);
      S = carry(S, next);
    }
    S.dispose();
    disposeMasks();
    return {
      value: concatDispose(out),
      gradFunc: (dU: Tensor, saved: Tensor[]) => {
        const [qs, ks, v1s] = saved;
        const chunks = chunksOf(N, C);
        // Forward pass: dQ_c = intra + φ-vjp(Q_c, dU_c S_{c−1}ᵀ); intra-chunk dK_c, dV1_c.
        let Sp = tf.zeros([G, featureWidth((qs.shape as number[])[2]), e]);
        const dq: Tensor[] = [];
        const dkIntra: Tensor[] = [];
        const dvIntra: Tensor[] = [];
        for (const [s, n] of chunks) {
          const [dqc, dkc, dvc, next] = tf.tidy(() => {
            const [qc, kc, v1c, dUc] = [rowsOf(qs, s, n), rowsOf(ks, s, n), rowsOf(v1s, s, n), rowsOf(dU, s, n)];
            const mask = maskOf(n);
            const { x, w } = intra(qc, kc, mask);
            const dX = tf.mul(tf.mul(tf.matMul(dUc, v1c, false, true), mask), tf.add(x, 1)); // dW ⊙ (1 + x): [G, n, n]
            const dqc = tf.add(tf.matMul(dX, kc), featuresVjpBatched(qc, tf.matMul(dUc, Sp, false, true)));
            return [dqc, tf.matMul(dX, qc, true, false), tf.matMul(w, dUc, true, false), tf.add(Sp, tf.matMul(taylorFeatures(kc), v1c, true, false))];
          });
          dq.push(dqc);
          dkIntra.push(dkc);
          dvIntra.push(dvc);
          Sp = carry(Sp, next);
        }
        Sp.dispose();
        disposeMasks();
        // Reverse pass: dK_c += φ-vjp(K_c, V1_c Gsᵀ), dV1_c += φ(K_c) Gs; then Gs += φ(Q_c)ᵀ dU_c.
        let Gs = tf.zeros([G, featureWidth((qs.shape as number[])[2]), e]);
        const dk: Tensor[] = new Array(chunks.length);
        const dv: Tensor[] = new Array(chunks.length);
        for (let c = chunks.length - 1; c >= 0; c--) {
          const [s, n] = chunks[c];
          const [dkc, dvc, next] = tf.tidy(() => {
            const [qc, kc, v1c, dUc] = [rowsOf(qs, s, n), rowsOf(ks, s, n), rowsOf(v1s, s, n), rowsOf(dU, s, n)];
            return [
              tf.add(dkIntra[c], featuresVjpBatched(kc, tf.matMul(v1c, Gs, false, true))),
              tf.add(dvIntra[c], tf.matMul(taylorFeatures(kc), Gs)),
              tf.add(Gs, tf.matMul(taylorFeatures(qc), dUc, true, false)),
            ];
          });
          tf.dispose([dkIntra[c], dvIntra[c]]);
          dk[c] = dkc;
          dv[c] = dvc;
          Gs = carry(Gs, next);
        }
        Gs.dispose();
        return [concatDispose(dq), concatDispose(dk), concatDispose(dv)];
      },
    };
  });
}

/** featuresVjp for x [G, n, d] and g [G, n, F]. */
function featuresVjpBatched(x: Tensor, g: Tensor): Tensor {
  return tf.tidy(() => {
    const [G, n, d] = x.shape as number[];
    return tf.reshape(featuresVjp(tf.reshape(x, [G * n, d]), tf.reshape(g, [G * n, -1])), [G, n, d]); // [G, n, d]
  });
}

/** Concatenate along axis 1 and dispose the parts. */
function concatDispose(parts: Tensor[]): Tensor {
  const out = tf.concat(parts, 1);
  tf.dispose(parts);
  return out;
}

/**
 * Efficient form: φ(Q)(φ(K)ᵀ[1, V]), chunked along the sequence in chunks of `chunk` tokens
 * (the result does not depend on it): bidirectional sums φ(K_c)ᵀ[1, V_c] chunk by chunk, then
 * applies the sum to each query chunk; causal (Nq = N, queryOffset 0) uses the chunked parallel
 * form (masked direct product inside a chunk, carried state across chunks). Peak memory
 * O(C·F + F·dv) per head, forward and backward (the gradient recomputes the chunk features).
 */
export function taylorEfficient(q: Tensor, k: Tensor, v: Tensor, causal: boolean, chunk = DEFAULT_CHUNK): Tensor {
  if (!Number.isInteger(chunk) || chunk < 1) throw new ConfigError('taylorshift.chunk', `must be a whole number of tokens ≥ 1 (default ${DEFAULT_CHUNK}); got ${chunk}.`);
  return tf.tidy(() => {
    const [B, H, N, dv] = v.shape as number[];
    const [Nq, d] = (q.shape as number[]).slice(2);
    const v1 = tf.concat([tf.ones([B, H, N, 1]), v], -1); // [B, H, N, 1 + dv]: column 0 gives the normaliser
    const U3 = (causal ? unnormalisedCausal(chunk) : unnormalisedBidirectional(chunk))(
      tf.reshape(q, [B * H, Nq, d]), // [G, Nq, d], G = B·H
      tf.reshape(k, [B * H, N, d]), // [G, N, d]
      tf.reshape(v1, [B * H, N, dv + 1]), // [G, N, 1 + dv]
    );
    const U = tf.reshape(U3, [B, H, Nq, dv + 1]); // [B, H, Nq, 1 + dv]
    const norm = tf.slice(U, [0, 0, 0, 0], [B, H, Nq, 1]); // [B, H, Nq, 1]
    return tf.div(tf.slice(U, [0, 0, 0, 1], [B, H, Nq, dv]), norm); // [B, H, Nq, dv]
  });
}

/**
 * Causal decoding of T new tokens from the carried state, in chunks of C (the causal chunked
 * form of `unnormalisedCausal`, starting from S instead of 0): q̂ [B, H, T, d], k̂ [B, Hkv, T, d],
 * v [B, Hkv, T, dv], S [B, Hkv, F, e] → outputs [B, H, T, dv] and the next S. Query head
 * h = g·r + i (r = H/Hkv) reads key/value head g, so q̂ is grouped as [B, Hkv, r·n, d] per chunk.
 */
export function taylorStep(q: Tensor, k: Tensor, v: Tensor, S: Tensor, chunk = DEFAULT_CHUNK): { out: Tensor; S: Tensor } {
  return tf.tidy(() => {
    const [B, H, T, d] = q.shape as number[];
    const [, Hkv, , dv] = v.shape as number[];
    const r = H / Hkv;
    const v1 = tf.concat([tf.ones([B, Hkv, T, 1]), v], -1); // [B, Hkv, T, e]
    let state = S;
    const parts: Tensor[] = [];
    for (const [s, n] of chunksOf(T, chunk)) {
      const qc = tf.reshape(tf.slice(q, [0, 0, s, 0], [-1, -1, n, -1]), [B, Hkv, r * n, d]); // [B, Hkv, r·n, d]
      const kc = tf.slice(k, [0, 0, s, 0], [-1, -1, n, -1]); // [B, Hkv, n, d]
      const v1c = tf.slice(v1, [0, 0, s, 0], [-1, -1, n, -1]); // [B, Hkv, n, e]
      const x = tf.matMul(qc, kc, false, true); // [B, Hkv, r·n, n]
      const mask = tf.tile(causalMask(n, n, 0), [r, 1]); // [r·n, n]: row (i, t) sees keys j ≤ t
      const w = tf.mul(tf.add(tf.add(tf.mul(tf.square(x), 0.5), x), 1), mask); // masked 1 + x + x²/2
      const Uc = tf.add(tf.matMul(w, v1c), tf.matMul(taylorFeatures(qc), state)); // [B, Hkv, r·n, e]
      parts.push(tf.reshape(Uc, [B, H, n, dv + 1])); // [B, H, n, e]
      state = tf.add(state, tf.matMul(taylorFeatures(kc), v1c, true, false)); // S += φ(K_c)ᵀ[1, V_c]
    }
    const U = tf.concat(parts, 2); // [B, H, T, e]
    const out = tf.div(tf.slice(U, [0, 0, 0, 1], [B, H, T, dv]), tf.slice(U, [0, 0, 0, 0], [B, H, T, 1])); // [B, H, T, dv]
    return { out, S: state };
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
  /** Tokens per chunk of the efficient form; undefined = DEFAULT_CHUNK. */
  chunk?: number;
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
      return efficient ? taylorEfficient(qh, kh, vh, ctx.causal, this.settings.chunk ?? DEFAULT_CHUNK) : taylorDirect(qh, kh, vh, ctx.causal, ctx.queryOffset);
    });
  }

  /** Zero state S [B, Hkv, F, 1 + Dh] (F = 1 + Dh + Dh²), one per key/value head. */
  initState(batch: number, dims: AttentionStateDims): TaylorShiftState {
    if (dims.heads !== this.heads || dims.heads % dims.kvHeads !== 0) {
      throw new StateError(`taylorshift attention: built for ${this.heads} query heads, asked for a state of ${dims.heads} query heads over ${dims.kvHeads} key/value heads; the query heads must be ${this.heads} and a multiple of the key/value heads`);
    }
    return new TaylorShiftState(tf.keep(tf.zeros([batch, dims.kvHeads, featureWidth(dims.headDim), dims.headDim + 1])), 0);
  }

  /**
   * Causal decoding of T new tokens from the state: q [B, H, T, Dh], k, v [B, Hkv, T, Dh].
   * Consumes `state`; returns [B, H, T, Dv] and the state after the new tokens. Same math as the
   * causal forward of either form (they are equal), with the same input normalisation.
   */
  attendStep(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState] {
    if (!(state instanceof TaylorShiftState)) {
      throw new StateError("taylorshift attention: attendStep needs the state from this kernel's initState (a TaylorShiftState); create the cache with model.initCache(batch)");
    }
    if (!ctx.causal) throw new ShapeError('taylorshift attention: attendStep decodes causally (ctx.causal is false); a bidirectional model has no decoding state — call attend on the whole input');
    if (ctx.keyPaddingMask) throw new ShapeError('taylorshift attention: key padding is not supported; use inputs of equal length');
    if (ctx.logitBias) throw new ShapeError('taylorshift attention: an additive logit bias is not supported (the efficient form never forms the logits)');
    const [B, H, T, d] = q.shape as number[];
    const [Bk, Hkv, Tk] = k.shape as number[];
    const dv = (v.shape as number[])[3];
    if (H !== this.heads) throw new ShapeError(`taylorshift attention: built for ${this.heads} query heads, got q [${q.shape}]`);
    if (Tk !== T || Bk !== B) throw new ShapeError(`taylorshift attention: attendStep expects as many new keys as new queries; got q [${q.shape}] and k [${k.shape}]`);
    const [Bs, Hs, Fs, Es] = state.S.shape as number[];
    if (Bs !== B || Hs !== Hkv || Fs !== featureWidth(d) || Es !== dv + 1) {
      throw new StateError(`taylorshift attention: the state holds S [${state.S.shape}] but the new tokens are q [${q.shape}], k [${k.shape}], v [${v.shape}] (expected S [${[B, Hkv, featureWidth(d), dv + 1]}]); the state belongs to another batch size or layer — create it with model.initCache(${B})`);
    }
    const r = tf.tidy(() => {
      const [qh, kh] = this.prepare(q, k, ctx.scale);
      return taylorStep(qh, kh, v, state.S, this.settings.chunk ?? DEFAULT_CHUNK);
    });
    const next = new TaylorShiftState(tf.keep(r.S), state.tokens + T);
    state.dispose();
    return [r.out, next];
  }
}
