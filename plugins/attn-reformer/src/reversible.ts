/**
 * The reversible residual layer — Reformer §3 (after Gomez et al. 2017, RevNet):
 *
 *   y1 = x1 + F(x2),   y2 = x2 + G(y1)          (forward; F = attention, G = feed-forward)
 *   x2 = y2 − G(y1),   x1 = y1 − F(x2)          (inverse: activations recomputed, not stored)
 *
 * Inputs are the two halves [B, L, D] of the activations. This class is the exact building block
 * (plain autodiff: tfjs keeps the tape). In a Weft model, set the model config's
 * `residual: "reversible"` instead: @weft/nn then runs every block this way, F = mixer branch and
 * G = feed-forward branch, with a custom gradient that recomputes activations from the outputs in
 * the backward pass, so activation memory stays flat in depth.
 */
import { tf, type Tensor } from '@weft/core';

export type Sublayer = (x: Tensor) => Tensor;

export class ReversibleBlock {
  constructor(readonly F: Sublayer, readonly G: Sublayer) {}

  /** (x1, x2) -> (y1, y2). */
  forward(x1: Tensor, x2: Tensor): [Tensor, Tensor] {
    return tf.tidy(() => {
      const y1 = tf.add(x1, this.F(x2));
      const y2 = tf.add(x2, this.G(y1));
      return [y1, y2] as [Tensor, Tensor];
    });
  }

  /** (y1, y2) -> (x1, x2), recomputing F and G. */
  inverse(y1: Tensor, y2: Tensor): [Tensor, Tensor] {
    return tf.tidy(() => {
      const x2 = tf.sub(y2, this.G(y1));
      const x1 = tf.sub(y1, this.F(x2));
      return [x1, x2] as [Tensor, Tensor];
    });
  }
}
