/**
 * NoPE — no positional encoding — with the optional per-head attention temperature of
 * Wang et al. 2024.
 *
 * Haviv et al. 2022 (arXiv 2203.16634) show that a *causal* Transformer LM with no
 * positional encoding at all is competitive: the causal mask alone lets each layer infer
 * position (e.g. by counting how many tokens it can see). Nothing is added to the embeddings,
 * q and k are not rotated and no bias is added. A bidirectional encoder without positions is
 * permutation-equivariant, so NoPE is for causal models.
 *
 * Wang et al. 2024 (arXiv 2404.12224, "Length Generalization of Causal Transformers without
 * Position Encoding") find that NoPE fails beyond the training length because attention
 * becomes distracted (too flat) over more keys, and sharpen it with a temperature λ per head:
 *
 *   A_h = softmax( λ_h · q_h k_hᵀ / √Dh )          (λ_h = 1: plain NoPE)
 *
 * The λ_h are either fixed (the searched values of the paper, given as options) or trained
 * (the paper tunes only λ with every other weight frozen: `model.freeze(n => !n.endsWith('.lambda'))`).
 *
 * Notation (paper → code):
 *   λ_h      temperature of head h (of layer l when given per layer)    lambda [H]
 *   q_h, k_h queries and keys of head h                                  [B, H, L, Dh]
 *   Dh       head width; the kernel's default scale is Dh^-1/2
 *
 * The hook is `logitScale`: the attention mixer multiplies its Dh^-1/2 scale by what this
 * returns (a number, or a per-head [H] tensor).
 */
import { ConfigError, Module, init, tf, z, type ForwardContext, type ModelDims, type PositionalEncoding, type Rng, type SlotCapabilities, type Tensor } from '@weft/core';

const POSITIVE = 'λ must be > 0 (1 = plain NoPE; > 1 sharpens attention, as for long inputs in Wang et al. 2024)';

export const NopeOptions = z.object({
  /**
   * λ: one number for every head, an array of H numbers (one per head, the same in every
   * layer), or an array of `layers` arrays of H numbers (one per layer and head).
   */
  lambda: z
    .union([
      z.number().positive({ message: POSITIVE }),
      z.array(z.number().positive({ message: POSITIVE })).min(1, { message: 'give one λ per head (or a single number)' }),
      z.array(z.array(z.number().positive({ message: POSITIVE })).min(1)).min(1, { message: 'give one array of H values per layer' }),
    ])
    .default(1),
  /** Train λ (initialised from `lambda`) as a parameter of each attention layer. */
  learned: z.boolean().default(false),
});
export type NopeOptions = z.output<typeof NopeOptions>;

/** No embed/rotate/bias; a logit scale; one instance per layer when λ differs by layer or is trained. */
export function nopeCapabilities(options: NopeOptions): SlotCapabilities['positional'] {
  const perLayer = options.learned || (Array.isArray(options.lambda) && Array.isArray(options.lambda[0]));
  return { embed: false, rotate: false, bias: false, logitScale: true, perLayer };
}

/**
 * λ for one layer as H numbers, checked against the model's sizes. `path` is the config
 * path of the encoding (for messages).
 */
export function lambdaForLayer(lambda: NopeOptions['lambda'], dims: ModelDims, layerIndex: number, path: string): number[] {
  const H = dims.heads;
  if (typeof lambda === 'number') return new Array<number>(H).fill(lambda);
  let row = lambda as number[];
  let where = `${path}.lambda`;
  if (Array.isArray(lambda[0])) {
    const rows = lambda as number[][];
    if (rows.length !== dims.layers) {
      throw new ConfigError(
        where,
        `has ${rows.length} rows but the model has ${dims.layers} layers; give one array of ${H} λ values per layer, or one array of ${H} for every layer`,
      );
    }
    row = rows[layerIndex];
    where = `${where}[${layerIndex}]`;
  }
  if (row.length !== H) {
    throw new ConfigError(
      where,
      `has ${row.length} values ${JSON.stringify(row)} but the model has ${H} heads; give exactly ${H} values (one λ per head) or a single number`,
    );
  }
  return row.slice();
}

export class NopeEncoding extends Module implements PositionalEncoding {
  /** λ_h of this layer, fixed. */
  readonly fixed: number[];
  /** λ_h as a trained parameter [H] (when `learned`). */
  readonly lambda?: tf.Variable;

  constructor(lambda: number[], learned: boolean, rng: Rng) {
    super();
    this.fixed = lambda.slice();
    if (learned) this.lambda = this.addParameter('lambda', [lambda.length], init.values(lambda), rng);
  }

  /** λ: a number when every head shares one fixed value (1 for plain NoPE), else [H]. */
  logitScale(_ctx?: ForwardContext, _queryLength?: number): Tensor | number {
    if (this.lambda) return tf.clone(this.lambda); // [H], carries gradients to λ
    if (this.fixed.every((v) => v === this.fixed[0])) return this.fixed[0];
    return tf.tensor1d(this.fixed); // [H]
  }
}
