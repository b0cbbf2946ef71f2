/**
 * FIRE — Functional Interpolation for Relative positions (Li et al., "Functional
 * Interpolation for Relative Positions Improves Long Context Transformers", ICLR 2024,
 * arXiv 2310.04418, §3).
 *
 * Notation (paper → code):
 *   i, j            query and key positions (absolute, from the forward context)
 *   ψ(x)            log(c·x + 1), the log transform (§3), c > 0 learned (`c`, init 0.1)
 *   L               threshold length L = |multiplier · initL| (`L_multiplier` learned, init 1;
 *                   initL = 512 fixed), so short positions are not over-amplified (§3, thresholding)
 *   f_θ             MLP 1 → mlpWidth (ReLU) → H, one output per head
 *
 *   b(i, j) = f_θ( ψ(i − j) / ψ(max(i, L)) )        (§3: the final FIRE bias)
 *
 * Following the reference code: ψ is taken of |c·x| and the denominator gets +1e-6, i.e.
 * x = log(|c(i−j)| + 1) / (log(|c·max(i, L)| + 1) + eps). In a causal model j ≤ i, so
 * 0 ≤ x < 1 at every length ("progressive interpolation"); future keys (j > i) get the
 * mirrored value and are removed by the causal mask.
 */
import { Module, init, tf, type ForwardContext, type PositionalEncoding, type Rng, type Tensor } from '@weft/core';

export interface FireOptions {
  heads: number;
  mlpWidth: number;
  initC: number;
  initL: number;
  eps: number;
}

/** FIRE's learned tensors, as plain tensors (so the formula can be differentiated directly). */
export interface FireParams {
  c: Tensor; // scalar
  multiplier: Tensor; // scalar, L = |multiplier · initL|
  w1: Tensor; // [1, W]
  b1: Tensor; // [W]
  w2: Tensor; // [W, H]
  b2: Tensor; // [H]
}

/** x(i, j) = ψ(i − j) / ψ(max(i, L)) for qPositions [B, Lq'], kPositions [B, Lk'] -> [B, Lq', Lk']. */
export function normalizedDistance(qPositions: Tensor, kPositions: Tensor, p: Pick<FireParams, 'c' | 'multiplier'>, initL: number, eps: number): Tensor {
  return tf.tidy(() => {
    const i = tf.expandDims(tf.cast(qPositions, 'float32'), 2); // [B, Lq', 1]
    const j = tf.expandDims(tf.cast(kPositions, 'float32'), 1); // [B, 1, Lk']
    const psi = (x: Tensor) => tf.log1p(tf.abs(tf.mul(p.c, x))); // log(|c x| + 1)
    const threshold = tf.abs(tf.mul(p.multiplier, initL)); // L
    const numerator = psi(tf.sub(i, j)); // [B, Lq', Lk']
    // Broadcast L to i's shape before the max: tfjs's Maximum gradient does not reduce over
    // broadcast axes, while Add's does, so dL flows back to the scalar multiplier.
    const thresholdPerQuery = tf.add(tf.zerosLike(i), threshold); // [B, Lq', 1]
    const denominator = tf.add(psi(tf.maximum(i, thresholdPerQuery)), eps); // [B, Lq', 1]
    return tf.div(numerator, denominator); // [B, Lq', Lk']
  });
}

/** b = f_θ(x): [B, Lq', Lk'] -> bias [B, H, Lq', Lk']. */
export function fireBias(qPositions: Tensor, kPositions: Tensor, p: FireParams, initL: number, eps: number): Tensor {
  return tf.tidy(() => {
    const x = normalizedDistance(qPositions, kPositions, p, initL, eps); // [B, Lq', Lk']
    const [B, Lq, Lk] = x.shape as number[];
    const H = (p.w2.shape as number[])[1];
    const hidden = tf.relu(tf.add(tf.matMul(tf.reshape(x, [-1, 1]), p.w1), p.b1)); // [B·Lq'·Lk', W]
    const out = tf.add(tf.matMul(hidden, p.w2), p.b2); // [B·Lq'·Lk', H]
    return tf.transpose(tf.reshape(out, [B, Lq, Lk, H]), [0, 3, 1, 2]); // [B, H, Lq', Lk']
  });
}

export class FireBias extends Module implements PositionalEncoding {
  readonly c: tf.Variable;
  readonly multiplier: tf.Variable;
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;

  constructor(readonly options: FireOptions, rng: Rng) {
    super();
    const { heads: H, mlpWidth: W } = options;
    this.c = this.addParameter('c', [], init.constant(options.initC), rng);
    this.multiplier = this.addParameter('L_multiplier', [], init.constant(1), rng);
    // nn.Linear defaults (U(±1/sqrt(fan_in)) for weight and bias), stored [in, out].
    this.w1 = this.addParameter('mlp.0.weight', [1, W], init.torchLinear(1), rng.fork('w1'));
    this.b1 = this.addParameter('mlp.0.bias', [W], init.torchLinear(1), rng.fork('b1'));
    this.w2 = this.addParameter('mlp.2.weight', [W, H], init.torchLinear(W), rng.fork('w2'));
    this.b2 = this.addParameter('mlp.2.bias', [H], init.torchLinear(W), rng.fork('b2'));
  }

  tensors(): FireParams {
    return { c: this.c, multiplier: this.multiplier, w1: this.w1, b1: this.b1, w2: this.w2, b2: this.b2 };
  }

  /** The MLP's input x(i, j) for a tile, [B, Lq', Lk']. */
  normalizedDistance(qPositions: Tensor, kPositions: Tensor): Tensor {
    return normalizedDistance(qPositions, kPositions, this.tensors(), this.options.initL, this.options.eps);
  }

  /** qPositions [B, Lq'], kPositions [B, Lk'] -> bias [B, H, Lq', Lk'] float32. */
  bias(qPositions: Tensor, kPositions: Tensor, _ctx?: ForwardContext): Tensor {
    return fireBias(qPositions, kPositions, this.tensors(), this.options.initL, this.options.eps);
  }
}
