/** y = x W + b, with W stored [in, out] (the transpose of torch.nn.Linear.weight). */
import { init, Module, tf, type Initializer, type Rng, type Tensor } from '@weft/core';

export interface LinearOptions {
  bias?: boolean;
  /** Default: GPT-2 style N(0, 0.02). */
  weightInit?: Initializer;
}

export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, options: LinearOptions = {}) {
    super();
    this.weight = this.addParameter('weight', [inFeatures, outFeatures], options.weightInit ?? init.normal(0.02), rng.fork('weight'));
    if (options.bias ?? true) this.bias = this.addParameter('bias', [outFeatures], init.zeros(), rng.fork('bias'));
  }

  /** [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.inFeatures]); // [N, in]
      let y = tf.matMul(flat, this.weight); // [N, out]
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}
