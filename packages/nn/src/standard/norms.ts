/** LayerNorm (Ba et al. 2016) and RMSNorm (Zhang & Sennrich 2019) over the last axis. */
import { init, Module, tf, type Norm, type Rng, type Tensor } from '@weft/core';

export class LayerNorm extends Module implements Norm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(dim: number, rng: Rng, readonly eps = 1e-5) {
    super();
    this.gamma = this.addParameter('weight', [dim], init.ones(), rng);
    this.beta = this.addParameter('bias', [dim], init.zeros(), rng);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.gamma), this.beta);
    });
  }
}

/** x / sqrt(mean(x²) + eps) · g */
export class RMSNorm extends Module implements Norm {
  readonly gamma: tf.Variable;
  constructor(dim: number, rng: Rng, readonly eps = 1e-6) {
    super();
    this.gamma = this.addParameter('weight', [dim], init.ones(), rng);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.eps))), this.gamma));
  }
}
