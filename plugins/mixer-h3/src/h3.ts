/**
 * The H3 layer (Fu, Dao, Saab, Thomas, Rudra & Ré, "Hungry Hungry Hippos", arXiv 2212.14052,
 * §3.1, Fig. 1 and Alg. 1) with head dimension 1, following the reference `H3` layer.
 *
 * Notation: B batch, L length, H = D = dModel channels, N = d_state.
 *   q, k, v = q_proj(u), k_proj(u), v_proj(u)        Linear D -> D with bias  [B, L, H]
 *   k  = SSM_shift(k) + D_k ⊙ k                        shift SSM (A = shift matrix, B = e₁):
 *                                                      a causal FIR, k̃_t = Σ_{i<N} C_shift[h, i] k_{t−i}
 *   kv = k ⊙ v                                         (head_dim 1: the outer product is a product)
 *   y  = SSM_diag(kv) + D ⊙ kv                         S4D with ZOH (@weft/mixer-s4's S4DLayer)
 *   y  = q ⊙ y
 *   out = output_linear(y)                             Linear D -> D with bias
 * Decoding keeps the last N−1 values of k (the shift SSM's state is exactly that window) and
 * the diagonal SSM's complex state [B, H, N/2].
 */
import { init, Module, tf, type ForwardContext, type LayerState, type Rng, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';
import { S4DLayer, S4DState } from '@weft/mixer-s4';
import { Linear, longConv, type LongConvMethod } from '@weft/nn';
import type { H3Options } from './options.js';

/** Shift-SSM window [B, N−1, H] (previous k values, oldest first) and diagonal SSM state. */
export class H3State implements LayerState {
  constructor(
    readonly shift: Tensor,
    readonly ssm: S4DState,
  ) {}
  bytes(): number {
    return this.shift.size * 4 + this.ssm.bytes();
  }
  dispose(): void {
    this.shift.dispose();
    this.ssm.dispose();
  }
}

export class H3 extends Module implements SequenceMixer {
  readonly dState: number;
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly shift_C: tf.Variable; // [H, N] taps of the shift SSM's kernel
  readonly shift_D: tf.Variable; // [H]
  readonly ssm: S4DLayer;
  readonly output_linear: Linear;
  readonly conv: LongConvMethod;

  constructor(readonly dModel: number, opts: H3Options, rng: Rng) {
    super();
    const H = dModel;
    const N = (this.dState = opts.d_state);
    this.conv = opts.conv;
    const lin = (name: string) => this.addModule(name, new Linear(H, H, rng.fork(name), { bias: true, weightInit: init.torchLinear() }));
    this.q_proj = lin('q_proj');
    this.k_proj = lin('k_proj');
    this.v_proj = lin('v_proj');
    this.shift_C = this.addParameter('shift_C', [H, N], init.normal(1), rng.fork('shift_C')); // reference: C ~ randn
    this.shift_D = this.addParameter('shift_D', [H], init.normal(1), rng.fork('shift_D')); // reference: D ~ randn
    this.ssm = this.addModule('ssm', new S4DLayer(H, N, opts.dt_min, opts.dt_max, rng.fork('ssm'), opts.conv));
    this.output_linear = lin('output_linear');
  }

  forward(u: Tensor, _ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const q = this.q_proj.forward(u); // [B, L, H]
      const k0 = this.k_proj.forward(u);
      const v = this.v_proj.forward(u);
      const k = tf.add(longConv(k0, this.shift_C, { method: this.conv }), tf.mul(k0, this.shift_D)); // shift SSM + D_k k
      const y = this.ssm.forward(tf.mul(k, v)); // S4D(kv) + D kv
      return this.output_linear.forward(tf.mul(q, y)); // [B, L, D]
    });
  }

  initState(batch: number): LayerState {
    return new H3State(tf.keep(tf.zeros([batch, this.dState - 1, this.dModel])), this.ssm.initState(batch));
  }

  /** T ≥ 1 tokens at once: the shift SSM runs as the same FIR over [window, k], the diagonal SSM as a recurrence. */
  step(u: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const s = state as H3State;
    const [B, T, H] = u.shape as [number, number, number];
    const W = this.dState - 1;
    const [q, kv, shift] = tf.tidy(() => {
      const k0 = this.k_proj.forward(u); // [B, T, H]
      const hist = tf.concat([s.shift, k0], 1); // [B, W + T, H]
      const conv = tf.slice(longConv(hist, this.shift_C, { method: this.conv }), [0, W, 0], [B, T, H]); // FIR outputs of the new tokens
      const k = tf.add(conv, tf.mul(k0, this.shift_D));
      return [this.q_proj.forward(u), tf.mul(k, this.v_proj.forward(u)), tf.slice(hist, [0, T, 0], [B, W, H])] as [Tensor, Tensor, Tensor];
    });
    const [y, ssm] = this.ssm.step(kv, s.ssm);
    const out = tf.tidy(() => this.output_linear.forward(tf.mul(q, y)));
    tf.dispose([q, kv, y]);
    state.dispose();
    return [out, new H3State(tf.keep(shift), ssm)];
  }
}
