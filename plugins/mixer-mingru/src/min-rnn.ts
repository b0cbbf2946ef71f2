/**
 * minGRU and minLSTM — "Were RNNs All We Needed?" (Feng et al., arXiv 2410.01201).
 *
 * Notation (the paper's symbols; B batch, L length, D model width, Dh hidden width):
 *   x_t            input token                                           [B, D]
 *   Dh             hidden width = expansion · D
 *   g(x)           x + 0.5 for x >= 0, σ(x) otherwise (keeps h̃ > 0 for the log-space scan)
 *   minGRU (§3.1.3, Eq. 5):
 *     z_t = σ(Linear_z(x_t)),   h̃_t = g(Linear_h(x_t))
 *     h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t
 *   minLSTM (§3.2.3, Eq. 6–7, length-independent scaling):
 *     f_t = σ(Linear_f(x_t)),  i_t = σ(Linear_i(x_t)),  h̃_t = g(Linear_h(x_t))
 *     f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
 *     h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t
 *   h_0 = 0 (the convention of the paper's code), y_t = h_t W_out            [B, D]
 *
 * Training runs the recurrence h_t = a_t h_{t−1} + b_t in log space (App. B,
 * parallel_scan_log): log a_t = log(1 − z_t) = −softplus(k_z), log b_t = log z_t + log g(k_h)
 * = −softplus(−k_z) + log g(k_h); for minLSTM with diff = softplus(−k_f) − softplus(−k_i),
 * log f'_t = −softplus(diff), log i'_t = −softplus(−diff). Decoding (`step`) runs the same
 * recurrence directly, one token at a time, in linear space.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { Linear, logScan, segmentStarts } from '@weft/nn';

/** g(x) = x + 0.5 (x >= 0), σ(x) (x < 0). */
export function g(x: Tensor): Tensor {
  return tf.tidy(() => tf.where(tf.greaterEqual(x, 0), tf.add(tf.relu(x), 0.5), tf.sigmoid(x)));
}

/** log g(x), computed without ever taking log of a non-positive number. */
export function logG(x: Tensor): Tensor {
  return tf.tidy(() => tf.where(tf.greaterEqual(x, 0), tf.log(tf.add(tf.relu(x), 0.5)), tf.neg(tf.softplus(tf.neg(x)))));
}

/** The decoding state: the hidden vector h_{t} of each row. */
export class MinRnnState implements LayerState {
  constructor(readonly h: Tensor /* [B, Dh] */) {}
  bytes(): number {
    return this.h.size * 4;
  }
  dispose(): void {
    this.h.dispose();
  }
}

export interface MinRnnConfig {
  dModel: number;
  expansion: number;
  bias: boolean;
}

/** Shared body of both cells: projections, the log-space scan, step, segment resets. */
abstract class MinRnnMixer extends Module implements SequenceMixer {
  readonly hidden: number;
  readonly out: Linear;

  constructor(protected readonly cfg: MinRnnConfig, rng: Rng) {
    super();
    this.hidden = Math.max(1, Math.round(cfg.expansion * cfg.dModel));
    // Created in the subclass constructors' order: gates first, then `out` (registered last).
    this.out = new Linear(this.hidden, cfg.dModel, rng.fork('out'), { bias: false, weightInit: init.torchLinear() });
  }

  protected linear(name: string, rng: Rng): Linear {
    return this.addModule(name, new Linear(this.cfg.dModel, this.hidden, rng.fork(name), { bias: this.cfg.bias, weightInit: init.torchLinear() }));
  }

  /** log a_t and log b_t of h_t = a_t h_{t−1} + b_t, each [B, L, Dh]. */
  protected abstract logCoefficients(x: Tensor): { la: Tensor; lb: Tensor };
  /** a_t and b_t in linear space (decoding), each [B, Dh] for x [B, D]. */
  protected abstract coefficients(x: Tensor): { a: Tensor; b: Tensor };

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const { la, lb } = this.logCoefficients(x); // [B, L, Dh]
      const resets = ctx.segmentIds ? segmentStarts(ctx.segmentIds) : undefined; // [B, L]
      const h = tf.exp(logScan(la, lb, { resets })); // [B, L, Dh]
      return this.out.forward(h); // [B, L, D]
    });
  }

  initState(batch: number): LayerState {
    return new MinRnnState(tf.keep(tf.zeros([batch, this.hidden])));
  }

  step(x: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const prev = (state as MinRnnState).h;
    const [B, T, D] = x.shape as [number, number, number];
    const [y, hLast] = tf.tidy(() => {
      let h = prev; // [B, Dh]
      const hs: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const xt = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, D]), [B, D]); // [B, D]
        const { a, b } = this.coefficients(xt);
        h = tf.add(tf.mul(a, h), b); // h_t = a_t ⊙ h_{t−1} + b_t
        hs.push(h);
      }
      return [this.out.forward(tf.stack(hs, 1)), h] as [Tensor, Tensor]; // [B, T, D], [B, Dh]
    });
    state.dispose();
    return [y, new MinRnnState(tf.keep(hLast))];
  }
}

/** minGRU (§3.1.3): one update gate z, candidate h̃ = g(Linear_h x). */
export class MinGRU extends MinRnnMixer {
  readonly linear_z: Linear;
  readonly linear_h: Linear;

  constructor(cfg: MinRnnConfig, rng: Rng) {
    super(cfg, rng);
    this.linear_z = this.linear('linear_z', rng);
    this.linear_h = this.linear('linear_h', rng);
    this.addModule('out', this.out);
  }

  protected logCoefficients(x: Tensor): { la: Tensor; lb: Tensor } {
    const kz = this.linear_z.forward(x); // [B, L, Dh]
    const kh = this.linear_h.forward(x); // [B, L, Dh]
    const logZ = tf.neg(tf.softplus(tf.neg(kz))); // log z = log σ(k)
    const logOneMinusZ = tf.neg(tf.softplus(kz)); // log(1 − z)
    return { la: logOneMinusZ, lb: tf.add(logZ, logG(kh)) };
  }

  protected coefficients(x: Tensor): { a: Tensor; b: Tensor } {
    const z = tf.sigmoid(this.linear_z.forward(x)); // [B, Dh]
    return { a: tf.sub(1, z), b: tf.mul(z, g(this.linear_h.forward(x))) };
  }
}

/** minLSTM (§3.2.3): forget f and input i gates normalised to sum to one, candidate g(Linear_h x). */
export class MinLSTM extends MinRnnMixer {
  readonly linear_f: Linear;
  readonly linear_i: Linear;
  readonly linear_h: Linear;

  constructor(cfg: MinRnnConfig, rng: Rng) {
    super(cfg, rng);
    this.linear_f = this.linear('linear_f', rng);
    this.linear_i = this.linear('linear_i', rng);
    this.linear_h = this.linear('linear_h', rng);
    this.addModule('out', this.out);
  }

  protected logCoefficients(x: Tensor): { la: Tensor; lb: Tensor } {
    const kf = this.linear_f.forward(x); // [B, L, Dh]
    const ki = this.linear_i.forward(x); // [B, L, Dh]
    const diff = tf.sub(tf.softplus(tf.neg(kf)), tf.softplus(tf.neg(ki))); // log i − log f
    const logF = tf.neg(tf.softplus(diff)); // log f' = log f − log(f + i)
    const logI = tf.neg(tf.softplus(tf.neg(diff))); // log i' = log i − log(f + i)
    return { la: logF, lb: tf.add(logI, logG(this.linear_h.forward(x))) };
  }

  protected coefficients(x: Tensor): { a: Tensor; b: Tensor } {
    const f = tf.sigmoid(this.linear_f.forward(x)); // [B, Dh]
    const i = tf.sigmoid(this.linear_i.forward(x)); // [B, Dh]
    const total = tf.add(f, i);
    return { a: tf.div(f, total), b: tf.mul(tf.div(i, total), g(this.linear_h.forward(x))) };
  }
}
