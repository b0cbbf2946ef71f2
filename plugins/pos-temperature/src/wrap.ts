/**
 * The shared shell of the three temperature kinds: an optional `inner` positional encoding
 * whose hooks are passed through unchanged, plus a multiplier on the attention logits.
 *
 *   logits = (q·k) · Dh^-1/2 · s_inner · s_own  (+ inner bias)
 *
 * s_own is a number (align, tempscale: 1/τ, through the `logitScale` hook) or, for log-n
 * scaling, a per-query-row factor applied to q after the inner rotation (see logn.ts):
 * multiplying row i of q by s_i multiplies row i of the logits by s_i, exactly.
 */
import { Module, tf, type ForwardContext, type PositionalEncoding, type Tensor } from '@weft/core';

export abstract class TemperatureEncoding extends Module implements PositionalEncoding {
  readonly inner?: PositionalEncoding;
  embed?: (x: Tensor, positions: Tensor, ctx: ForwardContext) => Tensor;
  rotate?: (q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext) => [Tensor, Tensor];
  bias?: (qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext & { x?: Tensor }) => Tensor;

  constructor(inner?: PositionalEncoding) {
    super();
    if (inner) {
      this.inner = Module.isModule(inner) ? this.adopt('inner', inner) : inner;
      if (inner.embed) this.embed = (x, positions, ctx) => inner.embed!(x, positions, ctx);
      if (inner.rotate) this.rotate = (q, k, qp, kp, ctx) => inner.rotate!(q, k, qp, kp, ctx);
      if (inner.bias) this.bias = (qp, kp, ctx) => inner.bias!(qp, kp, ctx);
    }
  }

  /** This kind's own multiplier on the logits (1 when it scales q rows instead). */
  protected abstract ownScale(ctx: ForwardContext, queryLength: number): number;

  logitScale(ctx: ForwardContext, queryLength: number): Tensor | number {
    const own = this.ownScale(ctx, queryLength);
    const innerScale = this.inner?.logitScale?.(ctx, queryLength);
    if (innerScale === undefined) return own;
    return typeof innerScale === 'number' ? innerScale * own : tf.mul(innerScale, own);
  }
}
