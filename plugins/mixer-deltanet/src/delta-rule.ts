/**
 * The delta rule over a sequence (Yang et al., "Parallelizing Linear Transformers with the
 * Delta Rule over Sequence Length", arXiv 2406.06484), in fla's layout (B, H, T, D):
 *
 * Notation (per batch row and head; S is the [Dk, Dv] fast-weight state, S_0 = 0):
 *   q_t, k_t [Dk], v_t [Dv], β_t ∈ (0, 1)      (q already scaled by Dk^−1/2, k L2-normalised)
 *   Recurrence (§2.2, Eq. 3 transposed, as fla writes it):
 *     ṽ_t = β_t (v_t − S_{t−1}ᵀ k_t)            the "new value": how far the memory is off
 *     S_t = S_{t−1} + k_t ṽ_tᵀ                  ( = (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ )
 *     o_t = S_tᵀ q_t
 *   Chunkwise-parallel form (§3.2, Eq. 6–9; the WY/UT representation), per chunk of c tokens
 *   with rows K, V, Q and the state S_0 at the chunk start:
 *     T  = (I + tril(diag(β) K Kᵀ, −1))⁻¹ diag(β)       UT transform                [c, c]
 *     W  = T K,  U = T V                                                           [c, Dk], [c, Dv]
 *     Ṽ  = U − W S_0                                     all new values of the chunk   [c, Dv]
 *     O  = Q S_0 + tril(Q Kᵀ) Ṽ                                                      [c, Dv]
 *     S' = S_0 + Kᵀ Ṽ
 *   (I + N)⁻¹ for strictly lower-triangular (nilpotent) N is computed exactly as
 *   (I − N)(I + N²)(I + N⁴)… — ceil(log2 c) matmuls instead of a triangular solve, which tfjs lacks.
 */
import { tf, type Tensor } from '@weft/core';

/** (I + N)⁻¹ for strictly lower-triangular N [G, c, c], exactly (N is nilpotent). */
export function unitLowerInverse(N: Tensor): Tensor {
  return tf.tidy(() => {
    const c = N.shape[1] as number;
    const I = tf.broadcastTo(tf.eye(c), N.shape);
    let P = tf.neg(N); // A = −N; (I − A)⁻¹ = Π_j (I + A^{2^j})
    let inv = tf.add(I, P);
    for (let span = 2; span < c; span *= 2) {
      P = tf.matMul(P, P);
      inv = tf.matMul(inv, tf.add(I, P));
    }
    return inv;
  });
}

/**
 * Constant 0/1 masks [G, c, c]: lower (j <= i) and strictly lower (j < i). Masks are multiplied
 * in rather than using tf.linalg.bandPart, whose gradient (through unstack/stack) fails for G = 1.
 */
function triangles(G: number, c: number): { lower: Tensor; strict: Tensor } {
  const lower = new Float32Array(c * c);
  const strict = new Float32Array(c * c);
  for (let i = 0; i < c; i++)
    for (let j = 0; j <= i; j++) {
      lower[i * c + j] = 1;
      if (j < i) strict[i * c + j] = 1;
    }
  return { lower: tf.broadcastTo(tf.tensor(lower, [1, c, c]), [G, c, c]), strict: tf.broadcastTo(tf.tensor(strict, [1, c, c]), [G, c, c]) };
}

function checkShapes(q: Tensor, k: Tensor, v: Tensor, beta: Tensor): [number, number, number, number, number] {
  const [B, H, L, Dk] = q.shape as [number, number, number, number];
  if (q.rank !== 4 || k.shape.join(',') !== q.shape.join(',') || v.rank !== 4 || v.shape.slice(0, 3).join(',') !== q.shape.slice(0, 3).join(',') || beta.shape.join(',') !== [B, H, L].join(',')) {
    throw new RangeError(`deltaRule: q, k must be [B, H, L, Dk], v [B, H, L, Dv] and beta [B, H, L]; got q [${q.shape}], k [${k.shape}], v [${v.shape}], beta [${beta.shape}]`);
  }
  return [B, H, L, Dk, v.shape[3] as number];
}

/** Chunkwise-parallel delta rule: q, k [B, H, L, Dk], v [B, H, L, Dv], beta [B, H, L] -> o [B, H, L, Dv]. */
export function deltaRuleChunked(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, chunkSize: number): Tensor {
  const [B, H, L, Dk, Dv] = checkShapes(q, k, v, beta);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`deltaRuleChunked: chunkSize must be a positive integer; got ${chunkSize}`);
  return tf.tidy(() => {
    const G = B * H;
    const q3 = tf.reshape(q, [G, L, Dk]); // [G, L, Dk]
    const k3 = tf.reshape(k, [G, L, Dk]);
    const v3 = tf.reshape(v, [G, L, Dv]);
    const b3 = tf.reshape(beta, [G, L, 1]); // [G, L, 1]
    let S = tf.zeros([G, Dk, Dv]);
    const outs: Tensor[] = [];
    for (let s = 0; s < L; s += chunkSize) {
      const c = Math.min(chunkSize, L - s);
      const Q = tf.slice(q3, [0, s, 0], [G, c, Dk]); // [G, c, Dk]
      const K = tf.slice(k3, [0, s, 0], [G, c, Dk]);
      const V = tf.slice(v3, [0, s, 0], [G, c, Dv]);
      const beta_ = tf.broadcastTo(tf.slice(b3, [0, s, 0], [G, c, 1]), [G, c, Dk]); // [G, c, Dk]
      const betaV = tf.broadcastTo(tf.slice(b3, [0, s, 0], [G, c, 1]), [G, c, Dv]); // [G, c, Dv]
      const bK = tf.mul(beta_, K); // diag(β) K
      const gram = tf.matMul(bK, K, false, true); // diag(β) K Kᵀ  [G, c, c]
      const { lower, strict } = triangles(G, c);
      const N = tf.mul(gram, strict); // strictly lower part
      const Tinv = unitLowerInverse(N); // (I + N)⁻¹  [G, c, c]
      const W = tf.matMul(Tinv, bK); // T K       [G, c, Dk]
      const U = tf.matMul(Tinv, tf.mul(betaV, V)); // T V       [G, c, Dv]
      const Vnew = tf.sub(U, tf.matMul(W, S)); // Ṽ = U − W S_0  [G, c, Dv]
      const QK = tf.mul(tf.matMul(Q, K, false, true), lower); // tril(Q Kᵀ)  [G, c, c]
      outs.push(tf.add(tf.matMul(Q, S), tf.matMul(QK, Vnew))); // O  [G, c, Dv]
      S = tf.add(S, tf.matMul(K, Vnew, true, false)); // S' = S_0 + Kᵀ Ṽ
    }
    return tf.reshape(outs.length === 1 ? outs[0] : tf.concat(outs, 1), [B, H, L, Dv]); // [B, H, L, Dv]
  });
}

/**
 * Sequential delta rule from a state S [B, H, Dk, Dv] over T tokens (decoding):
 * returns o [B, H, T, Dv] and the state after the last token (new tensors).
 */
export function deltaRuleRecurrent(q: Tensor, k: Tensor, v: Tensor, beta: Tensor, S0: Tensor): [Tensor, Tensor] {
  const [B, H, T, Dk, Dv] = checkShapes(q, k, v, beta);
  return tf.tidy(() => {
    const G = B * H;
    let S = tf.reshape(S0, [G, Dk, Dv]); // [G, Dk, Dv]
    const outs: Tensor[] = [];
    const at = (x: Tensor, t: number, D: number) => tf.reshape(tf.slice(x, [0, 0, t, 0], [B, H, 1, D]), [G, 1, D]); // [G, 1, D]
    for (let t = 0; t < T; t++) {
      const kt = at(k, t, Dk);
      const bt = tf.reshape(tf.slice(beta, [0, 0, t], [B, H, 1]), [G, 1, 1]); // [G, 1, 1]
      const vNew = tf.mul(tf.broadcastTo(bt, [G, 1, Dv]), tf.sub(at(v, t, Dv), tf.matMul(kt, S))); // ṽ = β (v − Sᵀk)  [G, 1, Dv]
      S = tf.add(S, tf.matMul(kt, vNew, true, false)); // S += k ṽᵀ
      outs.push(tf.matMul(at(q, t, Dk), S)); // o = Sᵀ q  [G, 1, Dv]
    }
    return [tf.reshape(tf.concat(outs, 1), [B, H, T, Dv]), tf.reshape(S, [B, H, Dk, Dv])] as [Tensor, Tensor];
  });
}
