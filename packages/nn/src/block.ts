/**
 * One residual block: a token mixer and an (optional) feed-forward layer, each wrapped in a
 * residual connection with normalisation before (pre-norm, GPT-2) or after (post-norm,
 * the original Transformer) the residual sum.
 *
 *   pre-norm:  h = x + mixer(norm1(x));   y = h + ffn(norm2(h))
 *   post-norm: h = norm1(x + mixer(x));   y = norm2(h + ffn(h))
 */
import { Module, tf, type FeedForward, type ForwardContext, type LayerState, type Norm, type SequenceMixer, type StepContext, type Tensor } from '@weft/core';

export interface BlockParts {
  mixer: SequenceMixer;
  feedforward?: FeedForward;
  norm1: Norm;
  norm2?: Norm;
  postNorm: boolean;
  dropout: number;
}

export class TransformerBlock extends Module {
  readonly mixer: SequenceMixer;
  readonly feedforward?: FeedForward;
  readonly norm1: Norm;
  readonly norm2?: Norm;
  readonly postNorm: boolean;
  readonly dropout: number;

  constructor(parts: BlockParts) {
    super();
    this.norm1 = this.addModule('norm1', parts.norm1);
    this.mixer = this.addModule('mixer', parts.mixer);
    this.norm2 = this.addModule('norm2', parts.norm2);
    this.feedforward = this.addModule('feedforward', parts.feedforward);
    this.postNorm = parts.postNorm;
    this.dropout = parts.dropout;
  }

  private drop(x: Tensor, ctx: { training: boolean; rng: { nextSeed(): number } }): Tensor {
    return ctx.training && this.dropout > 0 ? tf.dropout(x, this.dropout, undefined, ctx.rng.nextSeed()) : x;
  }

  private residual(x: Tensor, branch: (h: Tensor) => Tensor, norm: Norm, ctx: ForwardContext): Tensor {
    if (this.postNorm) return norm.forward(tf.add(x, this.drop(branch(x), ctx)));
    return tf.add(x, this.drop(branch(norm.forward(x)), ctx));
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const h = this.residual(x, (u) => this.mixer.forward(u, ctx), this.norm1, ctx);
      if (!this.feedforward) return h;
      return this.residual(h, (u) => this.feedforward!.forward(u, ctx), this.norm2!, ctx);
    });
  }

  /**
   * The mixer branch alone, F(x) = dropout(mixer(norm1(x))) — pre-norm only; the reversible
   * residual (./reversible.ts) adds it to the other stream.
   */
  mixerBranch(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => this.drop(this.mixer.forward(this.norm1.forward(x), ctx), ctx));
  }

  /** The feed-forward branch alone, G(x) = dropout(ffn(norm2(x))); undefined without a feed-forward. */
  feedForwardBranch(x: Tensor, ctx: ForwardContext): Tensor | undefined {
    if (!this.feedforward) return undefined;
    return tf.tidy(() => this.drop(this.feedforward!.forward(this.norm2!.forward(x), ctx), ctx));
  }

  /** F(x) for T new tokens while decoding: mixer.step(norm1(x)); the state is consumed and the next returned. */
  mixerBranchStep(x: Tensor, state: LayerState, ctx: StepContext): [Tensor, LayerState] {
    let next = state;
    const y = tf.tidy(() => {
      const [out, s] = this.mixer.step!(this.norm1.forward(x), state, ctx);
      next = s;
      return out;
    });
    return [y, next];
  }

  canDecode(): boolean {
    return typeof this.mixer.initState === 'function' && typeof this.mixer.step === 'function' && (this.mixer.canDecode?.() ?? true);
  }

  initState(batch: number): LayerState {
    return this.mixer.initState!(batch);
  }

  /** True when the mixer carries state across segments (segment recurrence). */
  carriesSegmentState(): boolean {
    return typeof this.mixer.forwardSegment === 'function' && typeof this.mixer.initState === 'function';
  }

  /** Run one segment [B, Ls, D] with the mixer's carried state; the state is consumed and the next returned. */
  forwardSegment(x: Tensor, state: LayerState, ctx: ForwardContext): [Tensor, LayerState] {
    let next = state;
    const y = tf.tidy(() => {
      const mix = (u: Tensor) => {
        const [out, s] = this.mixer.forwardSegment!(u, state, ctx);
        next = s;
        return out;
      };
      const h = this.residual(x, mix, this.norm1, ctx);
      if (!this.feedforward) return h;
      return this.residual(h, (u) => this.feedforward!.forward(u, ctx), this.norm2!, ctx);
    });
    return [y, next];
  }

  /** Decode T new tokens [B, T, D] through the block; the state is consumed and the next returned. */
  step(x: Tensor, state: LayerState, ctx: StepContext): [Tensor, LayerState] {
    let next = state;
    const fctx: ForwardContext = { ...ctx, causal: true, training: false };
    const y = tf.tidy(() => {
      const mix = (u: Tensor) => {
        const [out, s] = this.mixer.step!(u, state, ctx);
        next = s;
        return out;
      };
      const h = this.postNorm ? this.norm1.forward(tf.add(x, mix(x))) : tf.add(x, mix(this.norm1.forward(x)));
      if (!this.feedforward) return h;
      return this.residual(h, (u) => this.feedforward!.forward(u, fctx), this.norm2!, fctx);
    });
    return [y, next];
  }
}
