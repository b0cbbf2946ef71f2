/** A learned token embedding table, optionally tied to the output projection. */
import { init, Module, tf, type Rng, type Tensor, type TokenEmbedding } from '@weft/core';

export class LearnedEmbedding extends Module implements TokenEmbedding {
  readonly table: tf.Variable;
  constructor(readonly vocab: number, readonly dModel: number, rng: Rng, std = 0.02) {
    super();
    this.table = this.addParameter('weight', [vocab, dModel], init.normal(std), rng);
  }
  embed(ids: Tensor): Tensor {
    return tf.gather(this.table, ids); // [B, L, D]
  }
  /** Tied output: h Eᵀ, [B, L, D] -> [B, L, vocab]. */
  logits(hidden: Tensor): Tensor {
    return tf.tidy(() => {
      const [B, L, D] = hidden.shape;
      return tf.reshape(tf.matMul(tf.reshape(hidden, [B * L, D]), this.table, false, true), [B, L, this.vocab]);
    });
  }
}
