/**
 * The S4D mixer block of the reference standalone `s4d.py` (S4, arXiv 2111.00396 §3 / Fig. 1,
 * diagonal form arXiv 2206.11893), per channel over the model width, in Weft's [B, L, D] layout.
 *
 * Notation: B batch, L length, H = D = dModel channels.
 *   y   = S4D(u) = K ∗ u + D ⊙ u            [B, L, H]   (./s4d-layer.ts)
 *   y   = GELU(y)                            exact erf GELU (torch nn.GELU default)
 *   [a, g] = output_linear(y)                H -> 2H     (reference Conv1d(H, 2H, 1))
 *   out = a ⊙ σ(g)                           GLU over the channel axis
 * Decoding keeps the complex diagonal state [B, H, N/2] (real/imag pairs); the GELU, linear
 * and GLU are pointwise in time.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { Linear } from '@weft/nn';
import type { S4Options } from './options.js';
import { S4DLayer, type S4DState } from './s4d-layer.js';

/** Exact GELU: x · Φ(x) = x/2 · (1 + erf(x / √2)). */
export function gelu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

export class S4Mixer extends Module implements SequenceMixer {
  readonly kernel: S4DLayer;
  readonly output_linear: Linear;

  constructor(readonly dModel: number, opts: S4Options, rng: Rng) {
    super();
    this.kernel = this.addModule('kernel', new S4DLayer(dModel, opts.d_state, opts.dt_min, opts.dt_max, rng.fork('kernel'), opts.conv));
    this.output_linear = this.addModule('output_linear', new Linear(dModel, 2 * dModel, rng.fork('output_linear'), { bias: true, weightInit: init.torchLinear() }));
  }

  /** GELU → output_linear → GLU, pointwise in time: y [B, T, H] -> [B, T, H]. */
  private head(y: Tensor): Tensor {
    const [B, T, H] = y.shape as [number, number, number];
    const ag = this.output_linear.forward(gelu(y)); // [B, T, 2H]
    const a = tf.slice(ag, [0, 0, 0], [B, T, H]); // [B, T, H]
    const g = tf.slice(ag, [0, 0, H], [B, T, H]); // [B, T, H]
    return tf.mul(a, tf.sigmoid(g));
  }

  forward(u: Tensor, _ctx: ForwardContext): Tensor {
    return tf.tidy(() => this.head(this.kernel.forward(u)));
  }

  initState(batch: number): LayerState {
    return this.kernel.initState(batch);
  }

  step(u: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const [y, next] = this.kernel.step(u, state as S4DState);
    const out = tf.tidy(() => this.head(y));
    y.dispose();
    state.dispose();
    return [out, next];
  }
}
