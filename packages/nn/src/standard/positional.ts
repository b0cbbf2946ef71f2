/**
 * The baseline positional encodings:
 * - `sinusoidal` (Vaswani et al. 2017, §3.5): PE(p, 2i) = sin(p / 10000^(2i/D)),
 *   PE(p, 2i+1) = cos(p / 10000^(2i/D)) — interleaved, scaled, added to the embeddings;
 * - `learned`: a trained [maxLen, D] table (GPT-2; no scaling);
 * - `none`: no positional information (causal masking alone carries order).
 */
import { Module, init, tf, ShapeError, type ForwardContext, type PositionalEncoding, type Rng, type Tensor } from '@weft/core';

export class SinusoidalEncoding implements PositionalEncoding {
  /**
   * `scale` multiplies the table. Vaswani et al. add it at full scale to embeddings multiplied
   * by sqrt(D); Weft's embeddings are not rescaled (GPT-2 init, std 0.02), so the default
   * scales the table by D^-1/2 instead (x-transformers' scaled sinusoidal embedding) — at full
   * scale it drowns the token signal and small models stall at unigram statistics.
   */
  constructor(readonly dModel: number, readonly base = 10000, readonly scale = 1 / Math.sqrt(dModel)) {}

  /** [B, L] positions -> [B, L, D] table rows, computed on the fly (no length limit). */
  table(positions: Tensor): Tensor {
    return tf.tidy(() => {
      const half = Math.ceil(this.dModel / 2);
      const invFreq = tf.tensor1d(Array.from({ length: half }, (_, i) => Math.pow(this.base, (-2 * i) / this.dModel)));
      const angles = tf.mul(tf.expandDims(tf.cast(positions, 'float32'), -1), invFreq); // [B, L, D/2]
      const interleaved = tf.stack([tf.sin(angles), tf.cos(angles)], -1); // [B, L, D/2, 2]
      const [B, L] = positions.shape;
      return tf.mul(tf.slice(tf.reshape(interleaved, [B, L, 2 * half]), [0, 0, 0], [B, L, this.dModel]), this.scale);
    });
  }

  embed(x: Tensor, positions: Tensor, _ctx?: ForwardContext): Tensor {
    return tf.tidy(() => tf.add(x, this.table(positions)));
  }
}

export class LearnedPositionalEmbedding extends Module implements PositionalEncoding {
  readonly table: tf.Variable;
  constructor(readonly maxLen: number, dModel: number, rng: Rng) {
    super();
    this.table = this.addParameter('weight', [maxLen, dModel], init.normal(0.02), rng);
  }
  embed(x: Tensor, positions: Tensor, _ctx?: ForwardContext): Tensor {
    const maxPos = positions.max().dataSync()[0];
    if (maxPos >= this.maxLen) {
      throw new ShapeError(`Position ${maxPos} is beyond the learned table's maxLen ${this.maxLen}. Raise "maxLen" or use a relative encoding (rope, alibi).`);
    }
    return tf.tidy(() => tf.add(x, tf.gather(this.table, positions)));
  }
}

/** No positional information: the identity on the embeddings. */
export class NoPositionalEncoding implements PositionalEncoding {
  embed(x: Tensor): Tensor {
    return tf.clone(x);
  }
}
