/**
 * The Mamba block (Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State
 * Spaces", arXiv 2312.00752, §3.4 Fig. 3 and Alg. 2), following the reference
 * `mamba_simple.Mamba` layout and inits (CONVENTIONS.md, Mamba).
 *
 * Notation (B batch, L length, D = dModel, E = d_inner = expand · D, N = d_state,
 * R = dt_rank, K = d_conv):
 *   [x, z] = in_proj(u)                         [B, L, 2E]  -> x, z [B, L, E]
 *   x = silu(causal depthwise conv_K(x))        [B, L, E]
 *   [δ, B, C] = x_proj(x)                       [B, L, R + 2N]  (Alg. 2: s_B, s_C, s_Δ)
 *   Δ = softplus(dt_proj(δ))                    [B, L, E]  (bias inside the softplus)
 *   A = −exp(A_log)                             [E, N]  (S4D-real init: A_log = log(1..N))
 *   y = SSM(A, Δ, B, C)(x) + D ⊙ x              selective scan (./selective-scan.ts)
 * The causal conv is @weft/nn's `causalConv1d`; the scan runs on @weft/nn's `chunkedSelectiveScan`.
 *   out = out_proj(y ⊙ silu(z))                 [B, L, D]
 *
 * Decoding (`step`) keeps the last K−1 conv inputs [B, K−1, E] and the SSM state h [B, E, N]
 * and runs the recurrence h_t = exp(Δ_t A) h_{t−1} + Δ_t B_t x_t token by token (Eq. 2a).
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { causalConv1d, Linear } from '@weft/nn';
import { resolveDtRank, type MambaOptions } from './options.js';
import { selectiveRecurrent, selectiveScan } from './selective-scan.js';

/** Constant-size decoding state: conv window and SSM state. */
export class MambaState implements LayerState {
  constructor(
    readonly conv: Tensor /* [B, K−1, E] */,
    readonly ssm: Tensor /* [B, E, N] */,
  ) {}
  bytes(): number {
    return (this.conv.size + this.ssm.size) * 4;
  }
  dispose(): void {
    tf.dispose([this.conv, this.ssm]);
  }
}

/** dt_proj bias: inverse softplus of Δ ~ logU[dt_min, dt_max], floored at dt_init_floor. */
export function dtBiasInit(E: number, opts: Pick<MambaOptions, 'dt_min' | 'dt_max' | 'dt_init_floor'>, rng: Rng): Float32Array {
  const out = new Float32Array(E);
  const lo = Math.log(opts.dt_min);
  const hi = Math.log(opts.dt_max);
  for (let e = 0; e < E; e++) {
    const dt = Math.max(Math.exp(lo + rng.uniform() * (hi - lo)), opts.dt_init_floor);
    out[e] = dt + Math.log(-Math.expm1(-dt)); // softplus^{-1}(dt)
  }
  return out;
}

export class Mamba extends Module implements SequenceMixer {
  readonly dInner: number;
  readonly dState: number;
  readonly dConv: number;
  readonly dtRank: number;
  readonly in_proj: Linear;
  readonly conv1d_weight: tf.Variable; // [K, E]
  readonly conv1d_bias?: tf.Variable; // [E]
  readonly x_proj: Linear;
  readonly dt_proj: Linear;
  readonly A_log: tf.Variable; // [E, N]
  readonly D: tf.Variable; // [E]
  readonly out_proj: Linear;

  constructor(readonly dModel: number, opts: MambaOptions, rng: Rng) {
    super();
    const E = (this.dInner = opts.expand * dModel);
    const N = (this.dState = opts.d_state);
    const K = (this.dConv = opts.d_conv);
    const R = (this.dtRank = resolveDtRank(opts, dModel));
    this.in_proj = this.addModule('in_proj', new Linear(dModel, 2 * E, rng.fork('in_proj'), { bias: opts.bias, weightInit: init.torchLinear() }));
    // nn.Conv1d default init: U(±1/sqrt(fan_in)), fan_in = K (depthwise, one input channel).
    this.conv1d_weight = this.addParameter('conv1d_weight', [K, E], init.uniform(-1 / Math.sqrt(K), 1 / Math.sqrt(K)), rng.fork('conv1d_weight'));
    if (opts.conv_bias) this.conv1d_bias = this.addParameter('conv1d_bias', [E], init.uniform(-1 / Math.sqrt(K), 1 / Math.sqrt(K)), rng.fork('conv1d_bias'));
    this.x_proj = this.addModule('x_proj', new Linear(E, R + 2 * N, rng.fork('x_proj'), { bias: false, weightInit: init.torchLinear() }));
    // dt_init 'random', dt_scale 1: weight U(±R^-1/2); bias = softplus^{-1}(Δ0).
    this.dt_proj = this.addModule('dt_proj', new Linear(R, E, rng.fork('dt_proj'), { bias: true, weightInit: init.uniform(-1 / Math.sqrt(R), 1 / Math.sqrt(R)) }));
    const dtBias = dtBiasInit(E, opts, rng.fork('dt_bias'));
    tf.tidy(() => this.dt_proj.bias!.assign(tf.tensor(dtBias, [E])));
    const aLog = new Float32Array(E * N);
    for (let e = 0; e < E; e++) for (let n = 0; n < N; n++) aLog[e * N + n] = Math.log(n + 1); // S4D-real
    this.A_log = this.addParameter('A_log', [E, N], init.values(aLog), rng.fork('A_log'));
    this.D = this.addParameter('D', [E], init.ones(), rng.fork('D'));
    this.out_proj = this.addModule('out_proj', new Linear(E, dModel, rng.fork('out_proj'), { bias: opts.bias, weightInit: init.torchLinear() }));
  }

  /** in_proj + conv + x_proj, shared by forward and step. */
  private project(u: Tensor, convState?: Tensor) {
    const [B, L] = u.shape as [number, number];
    const E = this.dInner;
    const R = this.dtRank;
    const N = this.dState;
    const xz = this.in_proj.forward(u); // [B, L, 2E]
    const x0 = tf.slice(xz, [0, 0, 0], [B, L, E]); // [B, L, E]
    const z = tf.slice(xz, [0, 0, E], [B, L, E]); // [B, L, E]
    const conv = causalConv1d(x0, this.conv1d_weight, this.conv1d_bias, convState);
    const x = tf.mul(conv.y, tf.sigmoid(conv.y)); // silu  [B, L, E]
    const xDbl = this.x_proj.forward(x); // [B, L, R + 2N]
    const dtLow = tf.slice(xDbl, [0, 0, 0], [B, L, R]); // [B, L, R]
    const Bm = tf.slice(xDbl, [0, 0, R], [B, L, N]); // [B, L, N]
    const Cm = tf.slice(xDbl, [0, 0, R + N], [B, L, N]); // [B, L, N]
    const dt = tf.reshape(tf.matMul(tf.reshape(dtLow, [-1, R]), this.dt_proj.weight), [B, L, E]); // bias added inside softplus
    const A = tf.neg(tf.exp(this.A_log)); // [E, N]
    return { x, z, dt, Bm, Cm, A, convState: conv.state };
  }

  forward(u: Tensor, _ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const p = this.project(u);
      const { y } = selectiveScan({ u: p.x, delta: p.dt, A: p.A, B: p.Bm, C: p.Cm, D: this.D, z: p.z, deltaBias: this.dt_proj.bias, deltaSoftplus: true });
      return this.out_proj.forward(y); // [B, L, D]
    });
  }

  initState(batch: number): LayerState {
    return new MambaState(tf.keep(tf.zeros([batch, this.dConv - 1, this.dInner])), tf.keep(tf.zeros([batch, this.dInner, this.dState])));
  }

  step(u: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const s = state as MambaState;
    const [out, conv, ssm] = tf.tidy(() => {
      const p = this.project(u, s.conv);
      const { y, last } = selectiveRecurrent({ u: p.x, delta: p.dt, A: p.A, B: p.Bm, C: p.Cm, D: this.D, z: p.z, deltaBias: this.dt_proj.bias, deltaSoftplus: true, h0: s.ssm });
      return [this.out_proj.forward(y), p.convState, last] as [Tensor, Tensor, Tensor];
    });
    state.dispose();
    return [out, new MambaState(tf.keep(conv), tf.keep(ssm))];
  }
}
