/**
 * The Hyena operator (Poli et al., "Hyena Hierarchy", arXiv 2302.10866, §3, Def. 3.1, Alg. 1–3),
 * following the reference `HyenaOperator`.
 *
 * Notation: B batch, L length, d = dModel, N = order.
 *   [x_0, x_1, …, x_{N−1}, v] = short_conv_3(in_proj(u))     in_proj d -> (N+1) d, causal depthwise K=3
 *   h = implicit filters [L, (N−1) d] split '(o d)'          (./filter.ts)
 *   for o, x_i in enumerate(x_{N−1}, …, x_1):                 (Eq. 4 / Alg. 2)
 *       v ← h_o ∗ (v ⊙ x_i) + bias_o ⊙ (v ⊙ x_i)              causal long conv (@weft/nn longConv:
 *                                                              Toeplitz or matmul FFT, option conv)
 *   out = out_proj(v ⊙ x_0)
 * Decoding: the implicit filters span the whole history, so `step` keeps every past input
 * [B, t, d] in its state and recomputes the newest outputs (exact; one forward over t tokens per step).
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { causalConv1d, Linear, longConv } from '@weft/nn';
import { HyenaFilter } from './filter.js';
import type { HyenaOptions } from './options.js';

/** The full input history [B, t, d] (t may be 0). */
export class HyenaHistory implements LayerState {
  constructor(readonly inputs: Tensor) {}
  bytes(): number {
    return this.inputs.size * 4;
  }
  dispose(): void {
    this.inputs.dispose();
  }
}

const SHORT = 3;

export class Hyena extends Module implements SequenceMixer {
  readonly in_proj: Linear;
  readonly short_filter_weight: tf.Variable; // [3, (N+1) d]
  readonly short_filter_bias: tf.Variable; // [(N+1) d]
  readonly filter_fn: HyenaFilter;
  readonly out_proj: Linear;

  constructor(readonly dModel: number, readonly opts: HyenaOptions, rng: Rng) {
    super();
    const d = dModel;
    const inner = d * (opts.order + 1);
    this.in_proj = this.addModule('in_proj', new Linear(d, inner, rng.fork('in_proj'), { bias: true, weightInit: init.torchLinear() }));
    const bound = 1 / Math.sqrt(SHORT); // nn.Conv1d default, fan_in = K (depthwise)
    this.short_filter_weight = this.addParameter('short_filter_weight', [SHORT, inner], init.uniform(-bound, bound), rng.fork('short_filter_weight'));
    this.short_filter_bias = this.addParameter('short_filter_bias', [inner], init.uniform(-bound, bound), rng.fork('short_filter_bias'));
    this.filter_fn = this.addModule('filter_fn', new HyenaFilter(d * (opts.order - 1), opts, rng.fork('filter_fn')));
    this.out_proj = this.addModule('out_proj', new Linear(d, d, rng.fork('out_proj'), { bias: true, weightInit: init.torchLinear() }));
  }

  forward(u: Tensor, _ctx: ForwardContext): Tensor {
    const [B, L] = u.shape as [number, number];
    const d = this.dModel;
    const N = this.opts.order;
    if (L > this.opts.l_max) {
      throw new RangeError(`mixer "hyena": sequence length ${L} exceeds l_max (${this.opts.l_max}), the support of its implicit filters; raise the option l_max to at least ${L}`);
    }
    return tf.tidy(() => {
      const uc = causalConv1d(this.in_proj.forward(u), this.short_filter_weight, this.short_filter_bias).y; // [B, L, (N+1) d]
      const part = (i: number) => tf.slice(uc, [0, 0, i * d], [B, L, d]); // [B, L, d]
      const h = this.filter_fn.filter(L); // [L, (N−1) d]
      let v = part(N);
      for (let o = 0; o < N - 1; o++) {
        const xi = part(N - 1 - o); // x_{N−1}, …, x_1
        const vx = tf.mul(v, xi);
        const ho = tf.transpose(tf.slice(h, [0, o * d], [L, d])); // [d, L]
        const bo = tf.slice(this.filter_fn.bias, [o * d], [d]); // [d]
        v = tf.add(longConv(vx, ho, { method: this.opts.conv }), tf.mul(vx, bo));
      }
      return this.out_proj.forward(tf.mul(v, part(0))); // [B, L, d]
    });
  }

  initState(batch: number): LayerState {
    return new HyenaHistory(tf.keep(tf.zeros([batch, 0, this.dModel])));
  }

  step(u: Tensor, state: LayerState, ctx: StepContext): [Tensor, LayerState] {
    const s = state as HyenaHistory;
    const [B, T, d] = u.shape as [number, number, number];
    const hist = tf.keep(tf.concat([s.inputs, u], 1)); // [B, t + T, d]
    const t = hist.shape[1]!;
    const out = tf.tidy(() => tf.slice(this.forward(hist, ctx as unknown as ForwardContext), [0, t - T, 0], [B, T, d]));
    state.dispose();
    return [out, new HyenaHistory(hist)];
  }
}
