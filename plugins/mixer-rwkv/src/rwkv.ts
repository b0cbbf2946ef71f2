/**
 * RWKV-4 (Peng et al., "RWKV: Reinventing RNNs for the Transformer Era", arXiv 2305.13048):
 * a time-mixing block (token shift + WKV) and a channel-mixing block (token shift + squared
 * ReLU), as one causal recurrent mixer with constant-memory decoding.
 *
 * Notation (B batch, L length, D model width = channels C, F = ffnMult · D):
 *   x_t              mixer input (the block's norm1 output = RWKV's ln1(x))          [B, L, D]
 *   xx_t = x_{t−1}   token shift (time_shift = ZeroPad2d((0,0,1,−1)): xx_0 = 0)
 *   μ_k, μ_v, μ_r    time_mix_k/v/r: learned interpolation between x_t and x_{t−1}  [D]
 *   Time-mix (§3.1.1–3.1.2, Eq. 11–13, 15):
 *     r_t = W_r (μ_r ⊙ x_t + (1 − μ_r) ⊙ x_{t−1})     k_t, v_t likewise with μ_k, μ_v
 *     wkv_t = WKV(w = −exp(time_decay), u = time_first, k, v)        (Eq. 14, ./wkv.ts)
 *     a_t = W_o (σ(r_t) ⊙ wkv_t)
 *   Channel-mix (§3.1.3, Eq. 16–18), on h = ln2(x + a):
 *     r'_t = W'_r (μ'_r ⊙ h_t + (1 − μ'_r) ⊙ h_{t−1}),  k'_t = W'_k (μ'_k ⊙ h_t + (1 − μ'_k) ⊙ h_{t−1})
 *     c_t = σ(r'_t) ⊙ W'_v (max(k'_t, 0)²)
 *   mixer output: a + c (with channelMix: false, just a).
 * Linear weights are stored [in, out] (x @ W): transpose PyTorch's nn.Linear.weight.
 */
import { init, Module, tf, type ForwardContext, type LayerState, type ModelDims, type Rng, type SequenceMixer, type SlotCapabilities, type StepContext, type Tensor } from '@weft/core';
import { LayerNorm, Linear } from '@weft/nn';
import type { RwkvOptions } from './options.js';
import { wkv, wkvInitState, wkvStep, type WkvState } from './wkv.js';

export const rwkvCapabilities: SlotCapabilities['mixer'] = { causal: true, bidirectional: false, decode: true, segments: true, padding: false };

/** [B, L] segment ids -> [B, L] float 1 where a new segment starts (t > 0 and id_t != id_{t−1}). */
export function segmentStarts(segmentIds: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L] = segmentIds.shape as [number, number];
    if (L === 1) return tf.zeros([B, 1]);
    const prev = tf.slice(segmentIds, [0, 0], [B, L - 1]);
    const next = tf.slice(segmentIds, [0, 1], [B, L - 1]);
    return tf.concat([tf.zeros([B, 1]), tf.cast(tf.notEqual(prev, next), 'float32')], 1); // [B, L]
  });
}

/** Token shift: x [B, L, D] -> x_{t−1} (0 at t = 0, and at segment starts when given), or `first` [B, D] at t = 0. */
export function tokenShift(x: Tensor, starts?: Tensor, first?: Tensor): Tensor {
  return tf.tidy(() => {
    const [B, L, D] = x.shape as [number, number, number];
    const head = first ? tf.reshape(first, [B, 1, D]) : tf.zeros([B, 1, D]);
    let xx = L === 1 ? head : tf.concat([head, tf.slice(x, [0, 0, 0], [B, L - 1, D])], 1); // [B, L, D]
    if (starts) xx = tf.mul(xx, tf.sub(1, tf.reshape(starts, [B, L, 1])));
    return xx;
  });
}

/** μ ⊙ x + (1 − μ) ⊙ xx, with μ [D] broadcast explicitly. */
function lerp(mu: Tensor, x: Tensor, xx: Tensor): Tensor {
  return tf.tidy(() => {
    const m = tf.broadcastTo(mu, x.shape);
    return tf.add(tf.mul(m, x), tf.mul(tf.sub(1, m), xx));
  });
}

/** RWKV-4's layer-dependent init (the reference RWKV_TimeMix / RWKV_ChannelMix __init__). */
function ratios(layerIndex: number, layers: number): { r01: number; r10: number } {
  return { r01: layers > 1 ? layerIndex / (layers - 1) : 0, r10: 1 - layerIndex / Math.max(1, layers) };
}
const ddd = (D: number) => Float32Array.from({ length: D }, (_, i) => i / D);

/** Time-mixing block (§3.1.1–3.1.2). Parameter names follow RWKV-4's `att.*`. */
export class TimeMix extends Module {
  readonly time_decay: tf.Variable;
  readonly time_first: tf.Variable;
  readonly time_mix_k: tf.Variable;
  readonly time_mix_v: tf.Variable;
  readonly time_mix_r: tf.Variable;
  readonly key: Linear;
  readonly value: Linear;
  readonly receptance: Linear;
  readonly output: Linear;

  constructor(readonly D: number, layerIndex: number, layers: number, rng: Rng) {
    super();
    const { r01, r10 } = ratios(layerIndex, layers);
    const decay = Float32Array.from({ length: D }, (_, h) => -5 + 8 * Math.pow(h / Math.max(1, D - 1), 0.7 + 1.3 * r01));
    const first = Float32Array.from({ length: D }, (_, i) => Math.log(0.3) + (((i + 1) % 3) - 1) * 0.5);
    const x = ddd(D);
    this.time_decay = this.addParameter('time_decay', [D], init.values(decay), rng.fork('time_decay'));
    this.time_first = this.addParameter('time_first', [D], init.values(first), rng.fork('time_first'));
    this.time_mix_k = this.addParameter('time_mix_k', [D], init.values(x.map((v) => Math.pow(v, r10))), rng.fork('time_mix_k'));
    this.time_mix_v = this.addParameter('time_mix_v', [D], init.values(x.map((v) => Math.pow(v, r10) + 0.3 * r01)), rng.fork('time_mix_v'));
    this.time_mix_r = this.addParameter('time_mix_r', [D], init.values(x.map((v) => Math.pow(v, 0.5 * r10))), rng.fork('time_mix_r'));
    const linear = (name: string) => this.addModule(name, new Linear(D, D, rng.fork(name), { bias: false, weightInit: init.torchLinear() }));
    this.key = linear('key');
    this.value = linear('value');
    this.receptance = linear('receptance');
    this.output = linear('output');
  }

  /** w = −exp(time_decay): the per-channel log decay. */
  w(): Tensor {
    return tf.tidy(() => tf.neg(tf.exp(this.time_decay)));
  }

  /** r, k, v from x and its shifted copy xx (any leading shape, last axis D). */
  private rkv(x: Tensor, xx: Tensor): [Tensor, Tensor, Tensor] {
    return [
      this.receptance.forward(lerp(this.time_mix_r, x, xx)),
      this.key.forward(lerp(this.time_mix_k, x, xx)),
      this.value.forward(lerp(this.time_mix_v, x, xx)),
    ];
  }

  /** x [B, L, D] -> a [B, L, D]; `starts` [B, L] cut the token shift and the WKV state. */
  forward(x: Tensor, starts?: Tensor): Tensor {
    return tf.tidy(() => {
      const [r, k, v] = this.rkv(x, tokenShift(x, starts)); // [B, L, D] each
      const y = wkv(this.w(), this.time_first, k, v, { resets: starts }); // [B, L, D]
      return this.output.forward(tf.mul(tf.sigmoid(r), y));
    });
  }

  /** One token: x, xPrev [B, D], the WKV state -> a [B, D] and the next WKV state. */
  step(x: Tensor, xPrev: Tensor, state: WkvState): [Tensor, WkvState] {
    return tf.tidy(() => {
      const [r, k, v] = this.rkv(x, xPrev); // [B, D] each
      const [y, next] = wkvStep(this.w(), this.time_first, k, v, state);
      return [this.output.forward(tf.mul(tf.sigmoid(r), y)), next] as [Tensor, WkvState];
    });
  }
}

/** Channel-mixing block (§3.1.3). Parameter names follow RWKV-4's `ffn.*`. */
export class ChannelMix extends Module {
  readonly time_mix_k: tf.Variable;
  readonly time_mix_r: tf.Variable;
  readonly key: Linear;
  readonly receptance: Linear;
  readonly value: Linear;

  constructor(readonly D: number, readonly F: number, layerIndex: number, layers: number, rng: Rng) {
    super();
    const { r10 } = ratios(layerIndex, layers);
    const x = ddd(D).map((v) => Math.pow(v, r10));
    this.time_mix_k = this.addParameter('time_mix_k', [D], init.values(x), rng.fork('time_mix_k'));
    this.time_mix_r = this.addParameter('time_mix_r', [D], init.values(x), rng.fork('time_mix_r'));
    this.key = this.addModule('key', new Linear(D, F, rng.fork('key'), { bias: false, weightInit: init.torchLinear() }));
    this.receptance = this.addModule('receptance', new Linear(D, D, rng.fork('receptance'), { bias: false, weightInit: init.torchLinear() }));
    this.value = this.addModule('value', new Linear(F, D, rng.fork('value'), { bias: false, weightInit: init.torchLinear() }));
  }

  /** h and its shifted copy hh (same shape, last axis D) -> σ(r') ⊙ W'_v relu(k')². */
  forward(h: Tensor, hh: Tensor): Tensor {
    return tf.tidy(() => {
      const k = tf.square(tf.relu(this.key.forward(lerp(this.time_mix_k, h, hh))));
      const r = tf.sigmoid(this.receptance.forward(lerp(this.time_mix_r, h, hh)));
      return tf.mul(r, this.value.forward(k));
    });
  }
}

/** Decoding state: the WKV state and the last inputs of both token shifts, each [B, D]. */
export class RwkvState implements LayerState {
  constructor(
    readonly wkv: WkvState,
    readonly xAtt: Tensor /* last time-mix input */,
    readonly xFfn: Tensor /* last channel-mix input (ln2 output) */,
  ) {}
  bytes(): number {
    return (this.wkv.a.size + this.wkv.b.size + this.wkv.p.size + this.xAtt.size + this.xFfn.size) * 4;
  }
  dispose(): void {
    tf.dispose([this.wkv.a, this.wkv.b, this.wkv.p, this.xAtt, this.xFfn]);
  }
}

/** The 'rwkv' mixer: time-mix, then (by default) channel-mix on ln2(x + a). */
export class RwkvMixer extends Module implements SequenceMixer {
  readonly att: TimeMix;
  readonly ln2?: LayerNorm;
  readonly ffn?: ChannelMix;

  constructor(readonly options: RwkvOptions, readonly dims: Pick<ModelDims, 'dModel' | 'layers'>, rng: Rng, layerIndex = 0) {
    super();
    const D = dims.dModel;
    const layers = Math.max(1, dims.layers ?? 1);
    this.att = this.addModule('att', new TimeMix(D, layerIndex, layers, rng.fork('att')));
    if (options.channelMix) {
      this.ln2 = this.addModule('ln2', new LayerNorm(D, rng.fork('ln2')));
      this.ffn = this.addModule('ffn', new ChannelMix(D, Math.max(1, Math.round(options.ffnMult * D)), layerIndex, layers, rng.fork('ffn')));
    }
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const starts = ctx.segmentIds ? segmentStarts(ctx.segmentIds) : undefined; // [B, L]
      const a = this.att.forward(x, starts); // [B, L, D]
      if (!this.ffn) return a;
      const h = this.ln2!.forward(tf.add(x, a)); // [B, L, D]
      return tf.add(a, this.ffn.forward(h, tokenShift(h, starts)));
    });
  }

  initState(batch: number): LayerState {
    const D = this.dims.dModel;
    const s = wkvInitState(batch, D);
    return new RwkvState({ a: tf.keep(s.a), b: tf.keep(s.b), p: tf.keep(s.p) }, tf.keep(tf.zeros([batch, D])), tf.keep(tf.zeros([batch, D])));
  }

  step(x: Tensor, state: LayerState, _ctx: StepContext): [Tensor, LayerState] {
    const prev = state as RwkvState;
    const [B, T, D] = x.shape as [number, number, number];
    const [y, wa, wb, wp, xAtt, xFfn] = tf.tidy(() => {
      let s = prev.wkv;
      let xAtt = prev.xAtt;
      let xFfn = prev.xFfn;
      const outs: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const xt = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, D]), [B, D]); // [B, D]
        const [a, next] = this.att.step(xt, xAtt, s);
        s = next;
        xAtt = xt;
        if (this.ffn) {
          const h = this.ln2!.forward(tf.add(xt, a)); // [B, D]
          outs.push(tf.add(a, this.ffn.forward(h, xFfn)));
          xFfn = h;
        } else outs.push(a);
      }
      return [tf.stack(outs, 1), s.a, s.b, s.p, xAtt, this.ffn ? xFfn : tf.clone(xFfn)]; // [B, T, D], state [B, D] each
    });
    state.dispose();
    return [y, new RwkvState({ a: tf.keep(wa), b: tf.keep(wb), p: tf.keep(wp) }, tf.keep(xAtt), tf.keep(xFfn))];
  }
}
