/**
 * Soft top-k routing weights by dual coordinate descent (CoDA, Lei et al. 2023,
 * arXiv:2304.04947, as used by CoLT5 §3.1 to normalise its routing scores).
 *
 * Notation: s [B, n] routing scores of n tokens, k tokens to route, ε temperature, T iterations.
 *
 *   λ = argmax_λ  sᵀλ + ε H(λ)   subject to  Σ_i λ_i = k,  0 ≤ λ_i ≤ 1
 *
 * Its dual is solved by coordinate descent on (a, b), b ≤ 0, starting from b = 0:
 *
 *   a   ← ε ln k − ε ln Σ_i exp((s_i + b_i) / ε)
 *   b_i ← −relu(s_i + a)
 *   λ_i = exp((s_i + a + b_i) / ε)      (= exp(min(s_i + a, 0) / ε), so 0 < λ_i ≤ 1)
 *
 * The iterations are unrolled tfjs ops, so gradients reach the scores (and the router).
 */
import { tf, type Tensor } from '@weft/core';

export function softTopK(s: Tensor /* [B, n] */, k: number, epsilon: number, iterations: number): Tensor /* [B, n] */ {
  return tf.tidy(() => {
    const lnK = Math.log(k);
    let b: Tensor = tf.zerosLike(s);
    let a: Tensor = tf.zeros([s.shape[0], 1]);
    for (let t = 0; t < iterations; t++) {
      a = tf.sub(epsilon * lnK, tf.mul(epsilon, tf.logSumExp(tf.div(tf.add(s, b), epsilon), 1, true))); // [B, 1]
      b = tf.neg(tf.relu(tf.add(s, a))); // [B, n]
    }
    return tf.exp(tf.div(tf.add(tf.add(s, a), b), epsilon));
  });
}
