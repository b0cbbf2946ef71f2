/**
 * The Longhorn block (Liu et al., arXiv 2407.14207): Mamba's block with the selective SSM
 * replaced by Longhorn's online-regression SSM (./online-update.ts), following the reference
 * `models/longhorn.py` (Cranial-XIX/longhorn) layout, names and inits.
 *
 * Notation (B batch, L length, D = dModel, E = d_inner = expand · D, N = d_state,
 * R = dt_rank, K = d_conv):
 *   [x, z] = in_proj(u)                          [B, L, 2E] -> x, z [B, L, E]
 *   x = silu(causal depthwise conv_K(x))         [B, L, E]
 *   [δ, k, q] = x_proj(x)                        [B, L, R + 2N]  (split R, N, N)
 *   β = sigmoid(dt_head(δ))                      [B, L, E]  (bias inside the sigmoid)
 *   ε = β / (1 + β kᵀk)                          [B, L, E]
 *   S_t = (1 − ε_t ⊗ k_t²) ⊙ S_{t−1} + (ε_t ⊙ x_t) ⊗ k_t     [B, E, N]
 *   y_t = S_t q_t + D ⊙ x_t                      [B, L, E]
 *   out = out_proj(y ⊙ silu(z))                  [B, L, D]
 * No A matrix, no Δ discretisation and no separate forget gate: the decay is 1 − ε k², fixed
 * by the online objective. Decoding keeps the last K−1 conv inputs [B, K−1, E] and S [B, E, N].
 * Packed sequences (segment ids): the conv drops taps that cross a boundary and the scan
 * restarts there (@weft/nn's `segmentCausalConv1d`, `segmentStarts`).
 */
import { init, Module, ShapeError, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { MambaState } from '@weft/mixer-mamba';
import { causalConv1d, Linear, segmentCausalConv1d, segmentStarts } from '@weft/nn';
import { longhornRecurrent, longhornScan } from './online-update.js';
import type { LonghornOptions } from './options.js';

/**
 * The decoding / segment state: conv window [B, K−1, E] and SSM state S [B, E, N]. The same
 * pair Mamba keeps, so mixer-mamba's state class is reused.
 */
export { MambaState as LonghornState } from '@weft/mixer-mamba';

export class LonghornMixer extends Module implements SequenceMixer {
  readonly dInner: number;
  readonly dState: number;
  readonly dConv: number;
  readonly dtRank: number;
  readonly in_proj: Linear;
  readonly conv1d_weight: tf.Variable; // [K, E]
  readonly conv1d_bias?: tf.Variable; // [E]
  readonly x_proj: Linear;
  readonly dt_head: Linear;
  readonly D: tf.Variable; // [E]
  readonly out_proj: Linear;

  constructor(readonly dModel: number, opts: LonghornOptions, rng: Rng) {
    super();
    const E = (this.dInner = opts.expand * dModel);
    const N = (this.dState = opts.d_state);
    const K = (this.dConv = opts.d_conv);
    const R = (this.dtRank = opts.dt_rank === 'auto' ? Math.ceil(dModel / 16) : opts.dt_rank);
    this.in_proj = this.addModule('in_proj', new Linear(dModel, 2 * E, rng.fork('in_proj'), { bias: opts.bias, weightInit: init.torchLinear() }));
    // nn.Conv1d default init: U(±1/sqrt(fan_in)), fan_in = K (depthwise).
    this.conv1d_weight = this.addParameter('conv1d_weight', [K, E], init.uniform(-1 / Math.sqrt(K), 1 / Math.sqrt(K)), rng.fork('conv1d_weight'));
    if (opts.conv_bias) this.conv1d_bias = this.addParameter('conv1d_bias', [E], init.uniform(-1 / Math.sqrt(K), 1 / Math.sqrt(K)), rng.fork('conv1d_bias'));
    this.x_proj = this.addModule('x_proj', new Linear(E, R + 2 * N, rng.fork('x_proj'), { bias: false, weightInit: init.torchLinear() }));
    // nn.Linear default weight; bias 0 (the reference LM's _init_weights zeroes every Linear bias): β0 ≈ σ(δ W).
    this.dt_head = this.addModule('dt_head', new Linear(R, E, rng.fork('dt_head'), { bias: true, weightInit: init.torchLinear() }));
    this.D = this.addParameter('D', [E], init.ones(), rng.fork('D'));
    this.out_proj = this.addModule('out_proj', new Linear(E, dModel, rng.fork('out_proj'), { bias: opts.bias, weightInit: init.torchLinear() }));
  }

  /** in_proj, conv (+ SiLU), x_proj and β: shared by forward, forwardSegment and step. */
  private project(u: Tensor, conv: { state?: Tensor; segmentIds?: Tensor }) {
    const [B, L] = u.shape as [number, number];
    const E = this.dInner;
    const R = this.dtRank;
    const N = this.dState;
    const xz = this.in_proj.forward(u); // [B, L, 2E]
    const x0 = tf.slice(xz, [0, 0, 0], [B, L, E]); // [B, L, E]
    const z = tf.slice(xz, [0, 0, E], [B, L, E]); // [B, L, E]
    let convOut: Tensor;
    let convState: Tensor | undefined;
    if (conv.segmentIds) convOut = segmentCausalConv1d(x0, this.conv1d_weight, this.conv1d_bias, conv.segmentIds);
    else ({ y: convOut, state: convState } = causalConv1d(x0, this.conv1d_weight, this.conv1d_bias, conv.state));
    const x = tf.mul(convOut, tf.sigmoid(convOut)); // silu  [B, L, E]
    const xDbl = this.x_proj.forward(x); // [B, L, R + 2N]
    const delta = tf.slice(xDbl, [0, 0, 0], [B, L, R]); // [B, L, R]
    const k = tf.slice(xDbl, [0, 0, R], [B, L, N]); // [B, L, N]
    const q = tf.slice(xDbl, [0, 0, R + N], [B, L, N]); // [B, L, N]
    const beta = tf.sigmoid(this.dt_head.forward(delta)); // [B, L, E]
    return { x, z, k, q, beta, convState };
  }

  forward(u: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const segmentIds = ctx.segmentIds;
      const p = this.project(u, { segmentIds });
      const resets = segmentIds ? segmentStarts(segmentIds) : undefined; // [B, L]
      const { y } = longhornScan({ x: p.x, beta: p.beta, k: p.k, q: p.q, D: this.D, z: p.z, resets });
      return this.out_proj.forward(y); // [B, L, D]
    });
  }

  initState(batch: number): LayerState {
    return new MambaState(tf.keep(tf.zeros([batch, this.dConv - 1, this.dInner])), tf.keep(tf.zeros([batch, this.dInner, this.dState])));
  }

  /**
   * One segment of a long input with the state carried from the previous one (the model's
   * `segmentLength`): the parallel scan started from S and the conv window. Gradients flow
   * through the carried state. Consumes `state`.
   */
  forwardSegment(u: Tensor, state: LayerState, ctx: ForwardContext): [Tensor, LayerState] {
    if (ctx.segmentIds) {
      throw new ShapeError('mixer "longhorn": forwardSegment carries one sequence per row and takes no segmentIds; pack sequences only without segmentLength.');
    }
    const s = state as MambaState;
    const [out, conv, ssm] = tf.tidy(() => {
      const p = this.project(u, { state: s.conv });
      const { y, last } = longhornScan({ x: p.x, beta: p.beta, k: p.k, q: p.q, D: this.D, z: p.z, h0: s.ssm });
      return [this.out_proj.forward(y), p.convState!, last] as [Tensor, Tensor, Tensor];
    });
    state.dispose();
    return [out, new MambaState(tf.keep(conv), tf.keep(ssm))];
  }

  /** Decode T new tokens [B, T, D] with the recurrence, one token at a time. Consumes `state`. */
  step(u: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const s = state as MambaState;
    const [out, conv, ssm] = tf.tidy(() => {
      const p = this.project(u, { state: s.conv });
      const { y, last } = longhornRecurrent({ x: p.x, beta: p.beta, k: p.k, q: p.q, D: this.D, z: p.z, S0: s.ssm });
      return [this.out_proj.forward(y), p.convState!, last] as [Tensor, Tensor, Tensor];
    });
    state.dispose();
    return [out, new MambaState(tf.keep(conv), tf.keep(ssm))];
  }
}
