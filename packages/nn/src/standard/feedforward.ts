/**
 * Position-wise feed-forward layers: the Transformer MLP (Vaswani et al. 2017) with GELU or
 * ReLU, and SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer").
 */
import { Module, tf, type FeedForward, type ForwardContext, type Rng, type Tensor } from '@weft/core';
import { Linear } from '../layers/linear.js';

export type Activation = 'gelu' | 'relu' | 'silu';

export function activate(x: Tensor, activation: Activation): Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu':
      // tanh approximation (GPT-2): 0.5 x (1 + tanh(u)), u = sqrt(2/π)(x + 0.044715 x³),
      // computed as x · σ(2u) (the same function: 0.5 (1 + tanh(u)) = σ(2u)). On wasm, Tanh is a
      // scalar loop ~4× slower than Sigmoid, and Pow (and its gradient) cost more than the rest
      // of the MLP, so x³ is x·x·x.
      return tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x)))))));
  }
}

/** W2 act(W1 x + b1) + b2 */
export class MLP extends Module implements FeedForward {
  readonly up: Linear;
  readonly down: Linear;
  constructor(dModel: number, hidden: number, readonly activation: Activation, rng: Rng, outStd = 0.02) {
    super();
    this.up = this.addModule('up', new Linear(dModel, hidden, rng.fork('up')));
    this.down = this.addModule('down', new Linear(hidden, dModel, rng.fork('down'), { weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, outStd) }));
  }
  forward(x: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => this.down.forward(activate(this.up.forward(x), this.activation)));
  }
}

/** W2 (silu(W1 x) ⊙ W3 x), no biases. */
export class SwiGLU extends Module implements FeedForward {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(dModel: number, hidden: number, rng: Rng, outStd = 0.02) {
    super();
    this.gate = this.addModule('gate', new Linear(dModel, hidden, rng.fork('gate'), { bias: false }));
    this.up = this.addModule('up', new Linear(dModel, hidden, rng.fork('up'), { bias: false }));
    this.down = this.addModule('down', new Linear(hidden, dModel, rng.fork('down'), { bias: false, weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, outStd) }));
  }
  forward(x: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => this.down.forward(tf.mul(activate(this.gate.forward(x), 'silu'), this.up.forward(x))));
  }
}
