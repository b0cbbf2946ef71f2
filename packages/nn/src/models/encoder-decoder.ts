/**
 * An encoder-decoder Transformer (Vaswani et al. 2017): a bidirectional encoder over the
 * source, and a causal decoder whose layers run self-mixing, then cross-attention to the
 * encoder output, then the feed-forward layer, each as a pre-norm residual.
 */
import {
  Module,
  ModuleList,
  Rng,
  ShapeError,
  tf,
  type AttentionKernel,
  type Batch,
  type ForwardContext,
  type Norm,
  type PositionalEncoding,
  type Tensor,
  type TokenEmbedding,
  type TrainableModel,
} from '@weft/core';
import type { TransformerBlock } from '../block.js';
import type { ResolvedModelConfig } from '../builder.js';
import { Linear } from '../layers/linear.js';
import { mergeHeads, splitHeads } from '../layers/heads-split.js';
import { maskedCrossEntropy } from '../loss.js';
import { summarize } from '../summary.js';
import { AuxLossCollector } from '../aux-losses.js';
import { defaultPositions, type ForwardOptions } from './causal-lm.js';
import { encode } from './encoder-classifier.js';

/** Queries from the decoder, keys and values from the encoder output (not causal). */
export class CrossAttention extends Module {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  constructor(dModel: number, readonly heads: number, readonly headDim: number, readonly kernel: AttentionKernel, rng: Rng) {
    super();
    const width = heads * headDim;
    this.wq = this.addModule('wq', new Linear(dModel, width, rng.fork('wq'), { bias: false }));
    this.wk = this.addModule('wk', new Linear(dModel, width, rng.fork('wk'), { bias: false }));
    this.wv = this.addModule('wv', new Linear(dModel, width, rng.fork('wv'), { bias: false }));
    this.wo = this.addModule('wo', new Linear(width, dModel, rng.fork('wo'), { bias: false }));
  }

  forward(x: Tensor, memory: Tensor, memoryMask: Tensor | undefined, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const q = splitHeads(this.wq.forward(x), this.heads); // [B, H, Lt, Dh]
      const k = splitHeads(this.wk.forward(memory), this.heads); // [B, H, Ls, Dh]
      const v = splitHeads(this.wv.forward(memory), this.heads);
      const o = this.kernel.attend(q, k, v, {
        causal: false,
        scale: 1 / Math.sqrt(this.headDim),
        queryOffset: 0,
        keyPaddingMask: memoryMask,
        training: ctx.training,
        rng: ctx.rng,
        layerIndex: ctx.layerIndex,
      });
      return this.wo.forward(mergeHeads(o));
    });
  }
}

export interface EncoderDecoderParts {
  resolved: ResolvedModelConfig;
  embedding: TokenEmbedding;
  positional: PositionalEncoding;
  positionalIsModule: boolean;
  encoderBlocks: ModuleList<TransformerBlock>;
  encoderNorm: Norm;
  decoderBlocks: ModuleList<TransformerBlock>;
  crossAttention: ModuleList<CrossAttention>;
  crossNorms: ModuleList<Module & Norm>;
  finalNorm: Norm;
  rng: Rng;
}

export class EncoderDecoder extends Module implements TrainableModel {
  readonly config: object;
  readonly resolved: ResolvedModelConfig;
  readonly embedding: TokenEmbedding;
  readonly positional: PositionalEncoding;
  readonly encoderBlocks: ModuleList<TransformerBlock>;
  readonly encoderNorm: Norm;
  readonly blocks: ModuleList<TransformerBlock>;
  readonly crossAttention: ModuleList<CrossAttention>;
  readonly crossNorms: ModuleList<Module & Norm>;
  readonly finalNorm: Norm;
  readonly lmHead?: Linear;

  constructor(p: EncoderDecoderParts) {
    super();
    this.resolved = p.resolved;
    this.config = p.resolved.config;
    this.embedding = this.addModule('embedding', p.embedding);
    this.positional = p.positionalIsModule ? this.adopt('positional', p.positional) : p.positional;
    this.encoderBlocks = this.addModule('encoder', p.encoderBlocks);
    this.encoderNorm = this.addModule('encoderNorm', p.encoderNorm);
    this.blocks = this.addModule('blocks', p.decoderBlocks);
    this.crossAttention = this.addModule('cross', p.crossAttention);
    this.crossNorms = this.addModule('crossNorms', p.crossNorms);
    this.finalNorm = this.addModule('norm', p.finalNorm);
    if (!p.resolved.config.tieEmbeddings || !p.embedding.logits) {
      this.lmHead = this.addModule('lmHead', new Linear(p.resolved.dims.dModel, p.resolved.dims.vocab, p.rng.fork('lmHead'), { bias: false }));
    }
  }

  /** Encoder output [B, Ls, D]. */
  encode(sources: Tensor, options: ForwardOptions = {}): Tensor {
    return encode({ embedding: this.embedding, positional: this.positional, blocks: this.encoderBlocks, finalNorm: this.encoderNorm }, sources, options);
  }

  /** Target logits [B, Lt, vocab] given source ids [B, Ls] and target inputs [B, Lt]. */
  forward(sources: Tensor, targets: Tensor, options: ForwardOptions & { sourceMask?: Tensor } = {}): Tensor {
    for (const [name, t] of [['sources', sources], ['targets', targets]] as const) {
      if (t.rank !== 2 || t.dtype !== 'int32') throw new ShapeError(`${name} must be [batch, length] int32; got ${t.dtype} [${t.shape}]`);
    }
    return tf.tidy(() => {
      const memory = this.encode(sources, { ...options, paddingMask: options.sourceMask, positions: undefined });
      const [B, L] = targets.shape;
      const positions = defaultPositions(B, L);
      const ctx: ForwardContext = {
        causal: true,
        training: options.training ?? false,
        positions,
        rng: options.rng ?? new Rng(0),
        layerIndex: 0,
        scratch: options.scratch ?? new Map(),
        auxLosses: options.auxLosses,
      };
      let h = this.embedding.embed(targets);
      if (this.positional.embed) h = this.positional.embed(h, positions, ctx);
      for (let i = 0; i < this.blocks.length; i++) {
        const block = this.blocks.at(i);
        const lctx = { ...ctx, layerIndex: i };
        h = tf.add(h, block.mixer.forward(block.norm1.forward(h), lctx));
        h = tf.add(h, this.crossAttention.at(i).forward(this.crossNorms.at(i).forward(h), memory, options.sourceMask, lctx));
        if (block.feedforward) h = tf.add(h, block.feedforward.forward(block.norm2!.forward(h), lctx));
      }
      const normed = this.finalNorm.forward(h);
      return this.lmHead ? this.lmHead.forward(normed) : this.embedding.logits!(normed);
    });
  }

  /** batch.sources [B, Ls], batch.inputs (decoder inputs) and batch.targets [B, Lt]. */
  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor {
    if (!batch.sources) throw new ShapeError('An encoder-decoder batch needs "sources" (encoder input ids [B, Ls]).');
    const aux = new AuxLossCollector();
    try {
      return tf.tidy(() => tf.add(maskedCrossEntropy(this.forward(batch.sources!, batch.inputs, { ...options, auxLosses: aux }), batch.targets, batch.lossMask), aux.total()));
    } finally {
      aux.dispose();
    }
  }

  summary(): string {
    return summarize(this);
  }
}
