/**
 * Attention alignment by temperature (Chi, Fan, Rudnicky & Ramadge, "Attention Alignment and
 * Flexible Positional Embeddings Improve Transformer Length Extrapolation", arXiv 2311.00684).
 * On inputs longer than the training length the attention distribution flattens ("dispersed
 * attention": its entropy grows with the number of keys). The fix is a softmax temperature
 * τ chosen at inference so that the attention entropy on long inputs matches the entropy at
 * the training length:
 *
 *   p_ij(τ) = softmax_j(logits_ij / τ),   H(τ) = mean_i −Σ_j p_ij(τ) log p_ij(τ)
 *   choose τ with H_long(τ) = H_train(1)
 *
 * H(τ) increases with τ (τ → 0: one-hot, H → 0; τ → ∞: uniform, H → log n), so τ is found
 * by bisection on log τ (`alignTemperature`). The positional hook then applies the fixed τ
 * found: logits × 1/τ through `logitScale`.
 *
 * Notation (paper → code):
 *   τ            temperature (`temperature`); τ < 1 sharpens, τ = 1 is no change
 *   logits       [..., Lk] attention logits (after 1/sqrt(Dh) and any bias)
 *   mask         [..., Lk] 1 keep / 0 drop (e.g. a causal mask), broadcast against logits
 *   H_train      target entropy: a number, or computed from reference logits at the training length
 */
import { tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';
import { TemperatureEncoding } from './wrap.js';

/** Mean attention entropy (nats) of softmax(logits / τ) over all rows, masked keys excluded. */
export function attentionEntropy(logits: Tensor, temperature = 1, mask?: Tensor): number {
  return tf.tidy(() => {
    let z = tf.div(logits, temperature);
    if (mask) z = tf.add(z, tf.mul(tf.sub(1, mask), -1e9)); // dropped keys get probability 0
    const logp = tf.logSoftmax(z, -1);
    const p = tf.exp(logp);
    const h = tf.neg(tf.sum(tf.mul(p, mask ? tf.mul(logp, mask) : logp), -1)); // per row
    return tf.mean(h).dataSync()[0];
  });
}

export interface AlignSearchOptions {
  /** [..., Lk] 1 keep / 0 drop, broadcast against the logits. */
  mask?: Tensor;
  /** Search interval for τ (default [1e-2, 1e2]). */
  min?: number;
  max?: number;
  /** Stop when |H(τ) − target| < tolerance (nats, default 1e-5) ... */
  tolerance?: number;
  /** ... or after this many bisection steps (default 100). */
  maxIterations?: number;
}

/**
 * The temperature τ at which the mean attention entropy of `logits` equals `target`: a
 * number (nats), or reference logits (e.g. at the training length) whose entropy at τ = 1 is
 * the target. Throws a RangeError if the target lies outside H([min, max]).
 */
export function alignTemperature(logits: Tensor, target: number | Tensor, options: AlignSearchOptions = {}): number {
  const { mask, min = 1e-2, max = 1e2, tolerance = 1e-5, maxIterations = 100 } = options;
  const goal = typeof target === 'number' ? target : attentionEntropy(target);
  const h = (tau: number) => attentionEntropy(logits, tau, mask);
  const [hMin, hMax] = [h(min), h(max)];
  if (goal < hMin || goal > hMax) {
    throw new RangeError(
      `alignTemperature: target entropy ${goal.toFixed(4)} nats is outside [${hMin.toFixed(4)}, ${hMax.toFixed(4)}], what τ in [${min}, ${max}] reaches on these logits. Widen "min"/"max", or check the logits (constant rows cannot be sharpened).`,
    );
  }
  let [lo, hi] = [Math.log(min), Math.log(max)];
  let tau = Math.exp((lo + hi) / 2);
  for (let i = 0; i < maxIterations; i++) {
    tau = Math.exp((lo + hi) / 2);
    const value = h(tau);
    if (Math.abs(value - goal) < tolerance) break;
    if (value < goal) lo = Math.log(tau);
    else hi = Math.log(tau);
  }
  return tau;
}

export class AlignedTemperature extends TemperatureEncoding {
  constructor(readonly temperature: number, inner?: PositionalEncoding) {
    super(inner);
  }

  protected ownScale(_ctx: ForwardContext, _queryLength: number): number {
    return 1 / this.temperature;
  }
}
