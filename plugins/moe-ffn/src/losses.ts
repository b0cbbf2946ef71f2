/**
 * Router auxiliary losses.
 *
 * Notation: N tokens, E experts, k choices, p [N, E] router probabilities, z [N, E] router
 * logits, T_n,j token n's j-th expert (before capacity dropping).
 *
 *   load balancing (Switch eq. 4-6, in Hugging Face's Mixtral form summed over the k choices):
 *     f_j,e = (1/N) Σ_n 1{T_n,j = e}        fraction of tokens whose j-th choice is e
 *     P_e   = (1/N) Σ_n p_n,e               mean router probability of e
 *     loss  = E · Σ_j Σ_e f_j,e · P_e       (= 1 for uniform top-1 routing, k for top-k)
 *   router z-loss (ST-MoE, Zoph et al. 2022, eq. 5):
 *     loss  = (1/N) Σ_n (log Σ_e exp z_n,e)²
 *
 * f is a count and carries no gradient (as in the paper); P and z do.
 */
import { tf, type Tensor } from '@weft/core';
import type { Routing } from './router.js';

/** E · Σ_j,e f_j,e · P_e from the probabilities [N, E] and the (pre-capacity) routing. */
export function loadBalancingLoss(probs: Tensor, routing: Routing): Tensor {
  const [N, E] = probs.shape as [number, number];
  const f = new Float32Array(E); // Σ_j f_j,e
  routing.expert.forEach((e) => (f[e] += 1 / N));
  return tf.tidy(() => {
    const P = tf.mean(probs, 0); // [E]
    return tf.mul(tf.sum(tf.mul(tf.tensor1d(f), P)), E);
  });
}

/** mean_n (logsumexp_e z_n,e)² from the router logits [N, E]. */
export function routerZLoss(logits: Tensor): Tensor {
  return tf.tidy(() => tf.mean(tf.square(tf.logSumExp(logits, 1))));
}
