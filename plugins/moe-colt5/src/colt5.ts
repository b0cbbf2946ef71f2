/**
 * CoLT5 conditional feed-forward (Ainslie et al. 2023, arXiv:2303.09752, §3): every token
 * goes through a light FFN; a router picks the k most important tokens of each sequence and
 * only those also go through a heavy FFN, scaled by their normalised routing weight.
 *
 * Notation: B batch, L length, D width, x_i token i, w [D] router embedding, k routed tokens
 * per sequence (k = `k`, or ceil(fraction · L)), λ soft top-k weights (soft-topk.ts).
 *
 *   s_i = x_i · w                                   routing score            (§3.1)
 *   λ   = soft-top-k(s, k)                          normalised weights, Σ λ = k
 *   R   = the k tokens with the largest s_i         (ties: lower position)
 *   y_i = FFN_light(x_i) + 1{i ∈ R} · λ_i · FFN_heavy(x_i)                   (§3, eq. 1)
 *
 * The heavy FFN runs on exactly B·k gathered rows (its cost ∝ k); outputs are scattered back
 * with a segment sum. Routing looks at the whole sequence, so the layer is not causal: CoLT5
 * uses it in the encoder.
 */
import { IncompatibleError, Module, tf, z, type CompatibilityEnv, type FeedForward, type ForwardContext, type ModelDims, type Rng, type Tensor } from '@weft/core';
import { MLP } from '@weft/nn';
import { softTopK } from './soft-topk.js';

export const Colt5Options = z.object({
  /** Tokens routed to the heavy branch per sequence (capped at L); null = ceil(fraction · L). */
  k: z.number({ error: 'k must be an integer ≥ 0 or null' }).int({ error: 'k must be an integer (tokens per sequence), e.g. 8' }).min(0, { error: 'k must be ≥ 0 (0 = light branch only)' }).nullable().default(null),
  /** Fraction of each sequence routed to the heavy branch when k is null. */
  fraction: z.number({ error: 'fraction must be a number in [0, 1], e.g. 0.125' }).min(0, { error: 'fraction must be ≥ 0' }).max(1, { error: 'fraction must be ≤ 1 (1 routes every token)' }).default(0.125),
  /** Light FFN hidden width = round(lightMult · D). */
  lightMult: z.number({ error: 'lightMult must be a positive number, e.g. 2' }).positive({ error: 'lightMult must be > 0' }).default(2),
  /** Heavy FFN hidden width = round(heavyMult · D). */
  heavyMult: z.number({ error: 'heavyMult must be a positive number, e.g. 8' }).positive({ error: 'heavyMult must be > 0' }).default(8),
  activation: z.enum(['gelu', 'relu', 'silu'], { error: 'activation must be one of gelu, relu, silu' }).default('gelu'),
  /** ε, temperature of the soft top-k. */
  epsilon: z.number({ error: 'epsilon must be a positive number, e.g. 0.1' }).positive({ error: 'epsilon must be > 0 (soft top-k temperature)' }).default(0.1),
  /** Coordinate-descent iterations of the soft top-k. */
  iterations: z.number({ error: 'iterations must be an integer ≥ 1, e.g. 20' }).int({ error: 'iterations must be an integer' }).min(1, { error: 'iterations must be ≥ 1' }).default(20),
});
export type Colt5Options = z.output<typeof Colt5Options>;

/** Routing looks at every token of the sequence: refuse causal (decoder) models. */
export function checkColt5(_options: Colt5Options, env: CompatibilityEnv): void {
  if (env.causal) {
    throw new IncompatibleError(
      `${env.path}: feed-forward "colt5" routes the top-k tokens of the whole sequence, so a token's output depends on later tokens; this model is causal. ` +
        'Use it in a bidirectional model (task "classifier", or the encoder of an encoder-decoder), as CoLT5 does, or use "moe" in decoders.',
    );
  }
}

export class Colt5FeedForward extends Module implements FeedForward {
  readonly light: MLP;
  readonly heavy: MLP;
  readonly router: tf.Variable; // w [D, 1]

  constructor(readonly options: Colt5Options, readonly dModel: number, rng: Rng, outStd = 0.02) {
    super();
    this.light = this.addModule('light', new MLP(dModel, Math.max(1, Math.round(options.lightMult * dModel)), options.activation, rng.fork('light'), outStd));
    this.heavy = this.addModule('heavy', new MLP(dModel, Math.max(1, Math.round(options.heavyMult * dModel)), options.activation, rng.fork('heavy'), outStd));
    this.router = this.addParameter('router', [dModel, 1], (s, r) => r.normalArray(s[0] * s[1], 0, 0.02), rng.fork('router'));
  }

  static fromDims(options: Colt5Options, dims: ModelDims, rng: Rng): Colt5FeedForward {
    return new Colt5FeedForward(options, dims.dModel, rng, 0.02 / Math.sqrt(2 * dims.layers));
  }

  /** Tokens routed per sequence of length L. */
  routedTokens(L: number): number {
    return Math.min(L, this.options.k ?? Math.ceil(Number((this.options.fraction * L).toFixed(9))));
  }

  /** Routing scores s [B, L], soft top-k weights λ [B, L], and the routed flat token indices [B·k]. */
  route(x: Tensor): { scores: Tensor; weights: Tensor; routed: Int32Array } {
    const [B, L, D] = x.shape as [number, number, number];
    const k = this.routedTokens(L);
    const scores = tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [B * L, D]), this.router), [B, L])); // [B, L]
    const weights = k > 0 ? softTopK(scores, k, this.options.epsilon, this.options.iterations) : tf.zerosLike(scores);
    const s = scores.dataSync();
    const routed = new Int32Array(B * k);
    for (let b = 0; b < B; b++) {
      const order = Array.from({ length: L }, (_, t) => t).sort((i, j) => s[b * L + j] - s[b * L + i] || i - j);
      for (let j = 0; j < k; j++) routed[b * k + j] = b * L + order[j];
    }
    return { scores, weights, routed };
  }

  forward(x: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = x.shape as [number, number, number];
      const light = this.light.forward(x); // [B, L, D]
      if (this.routedTokens(L) === 0) return light;
      const { weights, routed } = this.route(x);
      const idx = tf.tensor1d(routed, 'int32'); // [B·k]
      const heavy = this.heavy.forward(tf.gather(tf.reshape(x, [B * L, D]), idx)); // [B·k, D]
      const lambda = tf.gather(tf.reshape(weights, [B * L]), idx); // [B·k]
      const y = tf.unsortedSegmentSum(tf.mul(heavy, tf.expandDims(lambda, 1)), idx, B * L); // [B·L, D]
      return tf.add(light, tf.reshape(y, [B, L, D]));
    });
  }
}
