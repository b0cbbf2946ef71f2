/**
 * An encoder classifier: bidirectional blocks, pooled (mean over real tokens, or the first
 * token) and projected to class logits.
 */
import { Module, ModuleList, Rng, ShapeError, tf, type Batch, type ForwardContext, type Norm, type PositionalEncoding, type Tensor, type TokenEmbedding, type TrainableModel } from '@weft/core';
import type { TransformerBlock } from '../block.js';
import type { ResolvedModelConfig } from '../builder.js';
import { Linear } from '../layers/linear.js';
import { summarize } from '../summary.js';
import { defaultPositions, type ForwardOptions } from './causal-lm.js';
import { AuxLossCollector } from '../aux-losses.js';
import { runBlocks, type ReducerSpan } from '../run-blocks.js';
import { runReversible } from '../reversible.js';

export interface EncoderParts {
  resolved: ResolvedModelConfig;
  embedding: TokenEmbedding;
  positional: PositionalEncoding;
  positionalIsModule: boolean;
  blocks: ModuleList<TransformerBlock>;
  finalNorm: Norm;
  reducers?: ReducerSpan[];
  rng: Rng;
}

/** Run an embedding + bidirectional stack; shared by the classifier and the encoder-decoder. */
export function encode(
  parts: Pick<EncoderParts, 'embedding' | 'positional' | 'blocks' | 'finalNorm' | 'reducers'> & { resolved?: ResolvedModelConfig },
  ids: Tensor,
  options: ForwardOptions,
): Tensor {
  return tf.tidy(() => {
    const [B, L] = ids.shape;
    const positions = options.positions ?? defaultPositions(B, L);
    const ctx: ForwardContext = {
      causal: false,
      training: options.training ?? false,
      positions,
      paddingMask: options.paddingMask,
      segmentIds: options.segmentIds,
      rng: options.rng ?? new Rng(0),
      layerIndex: 0,
      scratch: options.scratch ?? new Map(),
      auxLosses: options.auxLosses,
    };
    let h = parts.embedding.embed(ids);
    if (parts.positional.embed) h = parts.positional.embed(h, positions, ctx);
    if (parts.resolved?.config.residual === 'reversible') {
      const shared = Module.isModule(parts.positional) ? (parts.positional as unknown as Module).trainableParameters() : [];
      return parts.finalNorm.forward(runReversible(parts.blocks, h, { ...ctx, embeddings: h }, shared));
    }
    return parts.finalNorm.forward(runBlocks(parts.blocks, parts.reducers ?? [], h, { ...ctx, embeddings: h }));
  });
}

export class EncoderClassifier extends Module implements TrainableModel {
  readonly config: object;
  readonly resolved: ResolvedModelConfig;
  readonly embedding: TokenEmbedding;
  readonly positional: PositionalEncoding;
  readonly blocks: ModuleList<TransformerBlock>;
  readonly finalNorm: Norm;
  readonly head: Linear;
  readonly reducers: ReducerSpan[];

  constructor(parts: EncoderParts) {
    super();
    this.resolved = parts.resolved;
    this.config = parts.resolved.config;
    this.embedding = this.addModule('embedding', parts.embedding);
    this.positional = parts.positionalIsModule ? this.adopt('positional', parts.positional) : parts.positional;
    this.blocks = this.addModule('blocks', parts.blocks);
    this.finalNorm = this.addModule('norm', parts.finalNorm);
    this.reducers = parts.reducers ?? [];
    this.reducers.forEach((r, i) => this.adopt(`reducers.${i}`, r.reducer));
    this.head = this.addModule('head', new Linear(parts.resolved.dims.dModel, parts.resolved.config.classes!, parts.rng.fork('head')));
  }

  /** Class logits [B, classes]. */
  forward(ids: Tensor, options: ForwardOptions = {}): Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'int32') throw new ShapeError(`token ids must be [batch, length] int32; got ${ids.dtype} [${ids.shape}]`);
    return tf.tidy(() => {
      const h = encode(this, ids, options); // [B, L, D]
      let pooled: Tensor;
      if (this.resolved.config.pooling === 'first') pooled = tf.squeeze(tf.slice(h, [0, 0, 0], [-1, 1, -1]), [1]);
      else if (options.paddingMask) {
        const m = tf.expandDims(tf.cast(options.paddingMask, 'float32'), -1); // [B, L, 1]
        pooled = tf.div(tf.sum(tf.mul(h, m), 1), tf.maximum(tf.sum(m, 1), 1));
      } else pooled = tf.mean(h, 1);
      return this.head.forward(pooled); // [B, classes]
    });
  }

  /** Cross-entropy of class targets ([B] or [B, 1] int32 in batch.targets). */
  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor {
    const aux = new AuxLossCollector();
    try {
      return tf.tidy(() => {
        const logits = this.forward(batch.inputs, { ...options, auxLosses: aux });
        const classes = (logits.shape as number[])[1];
        const targets = tf.reshape(tf.cast(batch.targets, 'int32'), [-1]);
        const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(targets, classes), tf.logSoftmax(logits)), -1));
        return tf.add(tf.mean(nll), aux.total());
      });
    } finally {
      aux.dispose();
    }
  }

  summary(): string {
    return summarize(this);
  }
}
