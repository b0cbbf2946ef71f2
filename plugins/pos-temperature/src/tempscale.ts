/**
 * TempScale (Zhou et al., "Length-Induced Embedding Collapse in Transformer-based Models",
 * arXiv 2410.24200). Self-attention acts as a low-pass filter whose attenuation grows with the
 * sequence length, so embeddings of long texts collapse towards their mean (DC component).
 * A softmax temperature τ < 1 sharpens attention and counters it, without training:
 *
 *   Attn = softmax(q kᵀ / (τ · sqrt(Dh))) v,   0 < τ ≤ 1
 *
 * Notation: τ `temperature`; applied as logits × 1/τ through the `logitScale` hook, in every
 * attention layer. τ = 1 is the unmodified model.
 */
import type { ForwardContext, PositionalEncoding } from '@weft/core';
import { TemperatureEncoding } from './wrap.js';

export class TempScale extends TemperatureEncoding {
  constructor(readonly temperature: number, inner?: PositionalEncoding) {
    super(inner);
  }

  protected ownScale(_ctx: ForwardContext, _queryLength: number): number {
    return 1 / this.temperature;
  }
}
