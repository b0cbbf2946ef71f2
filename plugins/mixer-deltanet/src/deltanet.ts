/**
 * The DeltaNet token mixer (Yang et al., arXiv 2406.06484, §3–4), layout as fla's DeltaNet
 * layer without its short convolutions and output norm:
 *
 * Notation (B batch, L length, D model width, H heads, Dh = D / H):
 *   q_t = l2norm(φ(x_t W_q)) · Dh^−1/2,  k_t = l2norm(φ(x_t W_k)),  v_t = x_t W_v   (per head)
 *   φ = SiLU (qkActivation) or identity;  β_t = σ(x_t W_β) per head (1 when useBeta is false)
 *   o_t = DeltaRule(q, k, v, β)_t (./delta-rule.ts);  y_t = concat_h(o_t) W_o
 * Training: chunkwise-parallel WY/UT form; decoding: the recurrence with a [B, H, Dh, Dh] state.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type ModelDims, type Rng, type SequenceMixer, type SlotCapabilities, type StepContext, type Tensor } from '@weft/core';
import { Linear } from '@weft/nn';
import { deltaRuleChunked, deltaRuleRecurrent } from './delta-rule.js';
import type { DeltaNetOptions } from './options.js';

export const deltaNetCapabilities: SlotCapabilities['mixer'] = { causal: true, bidirectional: false, decode: true, segments: false, padding: false };

/** Decoding state: the fast-weight matrix S of every head. */
export class DeltaNetState implements LayerState {
  constructor(readonly S: Tensor /* [B, H, Dh, Dh] */) {}
  bytes(): number {
    return this.S.size * 4;
  }
  dispose(): void {
    this.S.dispose();
  }
}

export class DeltaNetMixer extends Module implements SequenceMixer {
  readonly H: number;
  readonly Dh: number;
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly b_proj?: Linear;
  readonly o_proj: Linear;

  constructor(readonly options: DeltaNetOptions, dims: Pick<ModelDims, 'dModel' | 'heads'>, rng: Rng) {
    super();
    const D = dims.dModel;
    this.H = dims.heads;
    if (!Number.isInteger(D / this.H)) throw new RangeError(`deltanet: dModel ${D} is not divisible by heads ${this.H}; choose heads dividing dModel`);
    this.Dh = D / this.H;
    const linear = (name: string, out: number, bias = false) => this.addModule(name, new Linear(D, out, rng.fork(name), { bias, weightInit: init.torchLinear() }));
    this.q_proj = linear('q_proj', D);
    this.k_proj = linear('k_proj', D);
    this.v_proj = linear('v_proj', D);
    if (options.useBeta) this.b_proj = linear('b_proj', this.H, true);
    this.o_proj = linear('o_proj', D);
  }

  /** x [B, L, D] -> q, k, v [B, H, L, Dh] and β [B, H, L]. */
  private project(x: Tensor): [Tensor, Tensor, Tensor, Tensor] {
    const [B, L] = x.shape as [number, number, number];
    const { H, Dh } = this;
    const heads = (t: Tensor) => tf.transpose(tf.reshape(t, [B, L, H, Dh]), [0, 2, 1, 3]); // [B, H, L, Dh]
    const phi = (t: Tensor) => (this.options.qkActivation === 'silu' ? tf.mul(t, tf.sigmoid(t)) : t);
    const l2 = (t: Tensor) => tf.div(t, tf.sqrt(tf.add(tf.sum(tf.square(t), -1, true), 1e-12))); // F.normalize (eps on the norm)
    const q = tf.mul(l2(heads(phi(this.q_proj.forward(x)))), 1 / Math.sqrt(Dh));
    const k = l2(heads(phi(this.k_proj.forward(x))));
    const v = heads(this.v_proj.forward(x));
    const beta = this.b_proj ? tf.transpose(tf.sigmoid(this.b_proj.forward(x)), [0, 2, 1]) : tf.ones([B, H, L]); // [B, H, L]
    return [q, k, v, beta];
  }

  /** o [B, H, L, Dh] -> y [B, L, D]. */
  private merge(o: Tensor): Tensor {
    const [B, H, L, Dh] = o.shape as [number, number, number, number];
    return this.o_proj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, L, H * Dh])); // [B, L, D]
  }

  forward(x: Tensor, _ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const [q, k, v, beta] = this.project(x);
      return this.merge(deltaRuleChunked(q, k, v, beta, this.options.chunkSize));
    });
  }

  initState(batch: number): LayerState {
    return new DeltaNetState(tf.keep(tf.zeros([batch, this.H, this.Dh, this.Dh])));
  }

  step(x: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const [y, S] = tf.tidy(() => {
      const [q, k, v, beta] = this.project(x);
      const [o, next] = deltaRuleRecurrent(q, k, v, beta, (state as DeltaNetState).S);
      return [this.merge(o), next] as [Tensor, Tensor];
    });
    state.dispose();
    return [y, new DeltaNetState(tf.keep(S))];
  }
}
