/**
 * Hyena's implicit long filters (Poli et al., arXiv 2302.10866, §3.3, Eq. 7 and Alg. 3; reference
 * `HyenaFilter`): h_t = Window(t) · FFN(PositionalEncoding(t)).
 *
 * Notation: L length, l_max filter support, F = filter_order, C = channels (d · (order − 1)),
 * E = emb_dim, bands = (E − 1)/2.
 *   t_l  = l / (l_max − 1)                      (linspace(0, 1, l_max))
 *   ω_l  = 2π l / l_max,  f_k = linspace(1e-4, bands − 1, bands)
 *   z_l  = [t_l, cos(f_k ω_l)…, −sin(f_k ω_l)…]        = [t, Re, Im] of exp(−i f ω)     [L, E]
 *   FFN  = Linear(E, F) → Sin → (Linear(F, F) → Sin) × num_inner_mlps → Linear(F, C, no bias)
 *   Sin(x) = sin(freq ⊙ x), one learned freq [F] shared by every Sin layer (init w)
 *   window_l,c = exp(−t_l · |δ_c|),  δ = linspace(ln(target)/slow_decay_pct, ln(target)/fast_decay_pct, C)
 *   h = FFN(z) ⊙ window                                                        [L, C]
 * δ is registered with learning rate 0 in the reference, so it is a constant here.
 */
import { init, Module, tf, type Rng, type Tensor } from '@weft/core';
import { Linear } from '@weft/nn';
import type { HyenaOptions } from './options.js';

/** z [L, E] and t [L] of the reference PositionalEmbedding(emb_dim, l_max), first L rows. */
export function positionalFeatures(L: number, lMax: number, embDim: number): { z: Float32Array; t: Float32Array } {
  const bands = (embDim - 1) / 2;
  const f = Array.from({ length: bands }, (_, k) => (bands === 1 ? 1e-4 : 1e-4 + (k * (bands - 1 - 1e-4)) / (bands - 1)));
  const z = new Float32Array(L * embDim);
  const t = new Float32Array(L);
  for (let l = 0; l < L; l++) {
    t[l] = lMax === 1 ? 0 : l / (lMax - 1);
    const w = (2 * Math.PI * l) / lMax;
    z[l * embDim] = t[l];
    for (let k = 0; k < bands; k++) {
      z[l * embDim + 1 + k] = Math.cos(f[k] * w);
      z[l * embDim + 1 + bands + k] = -Math.sin(f[k] * w);
    }
  }
  return { z, t };
}

/** δ_c = linspace(ln(target)/slow_decay_pct, ln(target)/fast_decay_pct, C). */
export function decayRates(C: number, opts: Pick<HyenaOptions, 'fast_decay_pct' | 'slow_decay_pct' | 'target'>): Float32Array {
  const lo = Math.log(opts.target) / opts.slow_decay_pct;
  const hi = Math.log(opts.target) / opts.fast_decay_pct;
  return Float32Array.from({ length: C }, (_, c) => (C === 1 ? lo : lo + (c * (hi - lo)) / (C - 1)));
}

export class HyenaFilter extends Module {
  readonly layers: Linear[] = [];
  readonly freq: tf.Variable; // [F], the shared Sin frequency
  readonly bias: tf.Variable; // [C], per-channel skip D of the long convolution
  private readonly deltas: Float32Array;

  constructor(readonly channels: number, readonly opts: HyenaOptions, rng: Rng) {
    super();
    const F = opts.filter_order;
    const lin = (i: number, inp: number, out: number, bias: boolean) =>
      this.addModule(`implicit_filter_${i}`, new Linear(inp, out, rng.fork(`implicit_filter_${i}`), { bias, weightInit: init.torchLinear() }));
    this.layers.push(lin(0, opts.emb_dim, F, true));
    for (let i = 1; i <= opts.num_inner_mlps; i++) this.layers.push(lin(i, F, F, true));
    this.layers.push(lin(opts.num_inner_mlps + 1, F, channels, false));
    this.freq = this.addParameter('freq', [F], init.values(new Float32Array(F).fill(opts.w)), rng.fork('freq'));
    this.bias = this.addParameter('bias', [channels], init.normal(1), rng.fork('bias'));
    this.deltas = decayRates(channels, opts);
  }

  /** The modulation window exp(−t |δ|), [L, C]. */
  window(L: number): Tensor {
    const { t } = positionalFeatures(L, this.opts.l_max, this.opts.emb_dim);
    const w = new Float32Array(L * this.channels);
    for (let l = 0; l < L; l++) for (let c = 0; c < this.channels; c++) w[l * this.channels + c] = Math.exp(-t[l] * Math.abs(this.deltas[c]));
    return tf.tensor(w, [L, this.channels]);
  }

  /** h [L, C] (Eq. 7). */
  filter(L: number): Tensor {
    const { z } = positionalFeatures(L, this.opts.l_max, this.opts.emb_dim);
    return tf.tidy(() => {
      let h: Tensor = tf.tensor(z, [L, this.opts.emb_dim]); // [L, E]
      this.layers.forEach((layer, i) => {
        h = layer.forward(h);
        if (i < this.layers.length - 1) h = tf.sin(tf.mul(h, this.freq)); // Sin activation
      });
      return tf.mul(h, this.window(L)); // [L, C]
    });
  }
}
