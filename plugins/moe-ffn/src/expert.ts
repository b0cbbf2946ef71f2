/**
 * The experts: E position-wise feed-forward networks, each token routed to k of them.
 *
 *   gelu / relu / silu:  FFN_e(x) = act(x W1_e + b1_e) W2_e + b2_e     (Switch / T5: no biases)
 *   swiglu:              FFN_e(x) = (silu(x Wg_e) ⊙ x W1_e) W2_e       (Mixtral: w2(silu(w1 x) * w3 x))
 *
 * Weights are stacked over experts and stored [E, in, out] (x @ W): `up` = W1 (Mixtral's w3
 * for swiglu), `gate` = the silu branch Wg (Mixtral's w1), `down` = W2. Stacking matters in
 * tfjs beyond speed: every step then has a gradient for every parameter (zero for an expert
 * no token reached), which tfjs's optimizers need — they index their moment slots by the
 * position of each gradient in the list, so a parameter set that changes between steps
 * would pair moments with the wrong weights.
 */
import { init, Module, tf, type Rng, type Tensor } from '@weft/core';
import { activate } from '@weft/nn';

export type ExpertActivation = 'gelu' | 'relu' | 'silu' | 'swiglu';

export class ExpertBank extends Module {
  readonly up: tf.Variable; // [E, D, Hd]
  readonly down: tf.Variable; // [E, Hd, D]
  readonly gate?: tf.Variable; // [E, D, Hd]
  readonly upBias?: tf.Variable; // [E, Hd]
  readonly downBias?: tf.Variable; // [E, D]
  readonly gateBias?: tf.Variable; // [E, Hd]

  constructor(
    readonly experts: number,
    readonly dModel: number,
    readonly hidden: number,
    readonly activation: ExpertActivation,
    bias: boolean,
    rng: Rng,
    outStd: number,
  ) {
    super();
    const [E, D, Hd] = [experts, dModel, hidden];
    this.up = this.addParameter('up', [E, D, Hd], init.normal(0.02), rng.fork('up'));
    if (activation === 'swiglu') this.gate = this.addParameter('gate', [E, D, Hd], init.normal(0.02), rng.fork('gate'));
    this.down = this.addParameter('down', [E, Hd, D], init.normal(outStd), rng.fork('down'));
    if (bias) {
      this.upBias = this.addParameter('upBias', [E, Hd], init.zeros(), rng.fork('upBias'));
      if (this.gate) this.gateBias = this.addParameter('gateBias', [E, Hd], init.zeros(), rng.fork('gateBias'));
      this.downBias = this.addParameter('downBias', [E, D], init.zeros(), rng.fork('downBias'));
    }
  }

  /** x W_e + b_e for expert e of a stacked [E, in, out] weight. */
  private project(x: Tensor, w: tf.Variable, b: tf.Variable | undefined, e: number): Tensor {
    const [, nIn, nOut] = w.shape;
    let y = tf.matMul(x, tf.reshape(tf.slice(w, [e, 0, 0], [1, nIn, nOut]), [nIn, nOut])); // [M, out]
    if (b) y = tf.add(y, tf.reshape(tf.slice(b, [e, 0], [1, nOut]), [nOut]));
    return y;
  }

  /** FFN_e on the tokens routed to expert e: x [M, D] -> [M, D]. */
  forward(e: number, x: Tensor): Tensor {
    return tf.tidy(() => {
      const u = this.project(x, this.up, this.upBias, e); // [M, Hd]
      const h = this.gate ? tf.mul(activate(this.project(x, this.gate, this.gateBias, e), 'silu'), u) : activate(u, this.activation as 'gelu' | 'relu' | 'silu');
      return this.project(h, this.down, this.downBias, e); // [M, D]
    });
  }
}
