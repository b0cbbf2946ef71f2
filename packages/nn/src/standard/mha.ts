/**
 * Multi-head attention's head layout (Vaswani et al. 2017, §3.2.2): q, k, v projected to
 * H heads of width Dh, and the heads' outputs merged and projected back to D.
 */
import { Module, type ForwardContext, type HeadLayout, type Rng, type StepContext, type Tensor, tf } from '@weft/core';
import { Linear } from '../layers/linear.js';
import { mergeHeads, splitHeads } from '../layers/heads-split.js';

export class MultiHeadLayout extends Module implements HeadLayout {
  readonly kvHeads: number;
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;

  constructor(dModel: number, readonly heads: number, readonly headDim: number, rng: Rng, options: { bias: boolean; outStd: number }) {
    super();
    this.kvHeads = heads;
    const width = heads * headDim;
    this.wq = this.addModule('wq', new Linear(dModel, width, rng.fork('wq'), { bias: options.bias }));
    this.wk = this.addModule('wk', new Linear(dModel, width, rng.fork('wk'), { bias: options.bias }));
    this.wv = this.addModule('wv', new Linear(dModel, width, rng.fork('wv'), { bias: options.bias }));
    this.wo = this.addModule(
      'wo',
      new Linear(width, dModel, rng.fork('wo'), { bias: options.bias, weightInit: (s, r) => r.normalArray(s[0] * s[1], 0, options.outStd) }),
    );
  }

  project(x: Tensor, _ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor } {
    return tf.tidy(() => ({
      q: splitHeads(this.wq.forward(x), this.heads), // [B, H, L, Dh]
      k: splitHeads(this.wk.forward(x), this.kvHeads),
      v: splitHeads(this.wv.forward(x), this.kvHeads),
    }));
  }

  output(o: Tensor, _ctx: ForwardContext | StepContext): Tensor {
    return tf.tidy(() => this.wo.forward(mergeHeads(o))); // [B, L, D]
  }
}
