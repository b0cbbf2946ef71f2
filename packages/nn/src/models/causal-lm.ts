/**
 * A decoder-only language model: embedding (+ absolute positions) -> residual blocks ->
 * final norm -> logits (tied to the embedding unless tieEmbeddings is false).
 * Trains with next-token cross-entropy; decodes incrementally through a ModelCache.
 */
import {
  Module,
  ModuleList,
  Rng,
  ShapeError,
  StateError,
  tf,
  type Batch,
  type ForwardContext,
  type Norm,
  type PositionalEncoding,
  type LayerState,
  type SegmentMemory,
  type StepContext,
  type Tensor,
  type TokenEmbedding,
  type TrainableModel,
} from '@weft/core';
import { AuxLossCollector } from '../aux-losses.js';
import type { TransformerBlock } from '../block.js';
import type { ResolvedModelConfig } from '../builder.js';
import { ModelCache } from '../cache.js';
import { Linear } from '../layers/linear.js';
import { maskedCrossEntropy } from '../loss.js';
import { summarize } from '../summary.js';
import { runBlocks, type ReducerSpan } from '../run-blocks.js';
import { runReversible, stepReversible } from '../reversible.js';

export interface ForwardOptions {
  training?: boolean;
  rng?: Rng;
  /** [B, L] int32; default 0..L-1 per row. */
  positions?: Tensor;
  segmentIds?: Tensor;
  paddingMask?: Tensor;
  /** Per-forward scratch (e.g. an attention recorder under RECORD_ATTENTION). */
  scratch?: Map<string, unknown>;
  auxLosses?: AuxLossCollector;
}

export interface CausalLMParts {
  resolved: ResolvedModelConfig;
  embedding: TokenEmbedding;
  positional: PositionalEncoding;
  positionalIsModule: boolean;
  blocks: ModuleList<TransformerBlock>;
  finalNorm: Norm;
  reducers: ReducerSpan[];
  memory?: SegmentMemory;
  rng: Rng;
}

export function defaultPositions(B: number, L: number, start = 0): Tensor {
  return tf.tidy(() => tf.tile(tf.reshape(tf.range(start, start + L, 1, 'int32'), [1, L]), [B, 1]));
}

export class CausalLM extends Module implements TrainableModel {
  readonly config: object;
  readonly resolved: ResolvedModelConfig;
  readonly embedding: TokenEmbedding;
  readonly positional: PositionalEncoding;
  readonly blocks: ModuleList<TransformerBlock>;
  readonly finalNorm: Norm;
  readonly lmHead?: Linear;
  private readonly reducerSpans: ReducerSpan[];
  readonly memory?: SegmentMemory;

  constructor(parts: CausalLMParts) {
    super();
    this.resolved = parts.resolved;
    this.config = parts.resolved.config;
    this.embedding = this.addModule('embedding', parts.embedding);
    this.positional = parts.positionalIsModule ? this.adopt('positional', parts.positional) : parts.positional;
    this.blocks = this.addModule('blocks', parts.blocks);
    this.finalNorm = this.addModule('norm', parts.finalNorm);
    this.reducerSpans = parts.reducers;
    parts.reducers.forEach((r, i) => this.adopt(`reducers.${i}`, r.reducer));
    this.memory = this.addModule('memory', parts.memory);
    const { vocab, dModel } = parts.resolved.dims;
    if (!parts.resolved.config.tieEmbeddings || !parts.embedding.logits) {
      this.lmHead = this.addModule('lmHead', new Linear(dModel, vocab, parts.rng.fork('lmHead'), { bias: false }));
    }
  }

  get vocab(): number {
    return this.resolved.dims.vocab;
  }

  private checkIds(ids: Tensor): void {
    if (ids.rank !== 2) throw new ShapeError(`token ids must be [batch, length] int32; got shape [${ids.shape}]`);
    if (ids.dtype !== 'int32') throw new ShapeError(`token ids must be int32; got ${ids.dtype} (use tf.tensor(ids, shape, 'int32'))`);
  }

  private embedTokens(ids: Tensor, positions: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const x = this.embedding.embed(ids);
      return this.positional.embed ? this.positional.embed(x, positions, ctx) : x;
    });
  }

  private project(h: Tensor): Tensor {
    return tf.tidy(() => {
      const normed = this.finalNorm.forward(h);
      return this.lmHead ? this.lmHead.forward(normed) : this.embedding.logits!(normed);
    });
  }

  /** Trainable parameters the blocks use without owning them (the model-level positional encoding's). */
  private sharedParameters(): tf.Variable[] {
    return Module.isModule(this.positional) ? (this.positional as unknown as Module).trainableParameters() : [];
  }

  /** Final hidden states [B, L, D] (before the final norm). */
  hidden(ids: Tensor, options: ForwardOptions = {}): Tensor {
    this.checkIds(ids);
    const [B, L] = ids.shape;
    const segmentLength = this.resolved.config.segmentLength;
    if (segmentLength !== undefined && (L > segmentLength || this.memory)) return this.segmentedHidden(ids, segmentLength, options);
    return tf.tidy(() => {
      const positions = options.positions ?? defaultPositions(B, L);
      let ctx: ForwardContext = {
        causal: true,
        training: options.training ?? false,
        positions,
        segmentIds: options.segmentIds,
        paddingMask: options.paddingMask,
        rng: options.rng ?? new Rng(0),
        layerIndex: 0,
        scratch: options.scratch ?? new Map(),
        auxLosses: options.auxLosses,
      };
      const h = this.embedTokens(ids, positions, ctx);
      ctx = { ...ctx, embeddings: h };
      if (this.resolved.config.residual === 'reversible') return runReversible(this.blocks, h, ctx, this.sharedParameters());
      return runBlocks(this.blocks, this.reducerSpans, h, ctx);
    });
  }

  /**
   * Segment recurrence: run the input in segments of `segmentLength` tokens (segment-local
   * positions), carrying each stateful mixer's state (forwardSegment) and the model-level
   * memory from one segment to the next. Gradients flow through the carried state unless the
   * technique stops them.
   */
  private segmentedHidden(ids: Tensor, segmentLength: number, options: ForwardOptions): Tensor {
    const [B, L] = ids.shape as [number, number];
    if (options.segmentIds || options.paddingMask) {
      throw new ShapeError('Segment recurrence does not take segmentIds or paddingMask: give whole, unpadded sequences.');
    }
    const states: Array<LayerState | undefined> = Array.from(this.blocks, (b) => (b.carriesSegmentState() ? b.initState(B) : undefined));
    let memoryState = this.memory?.init(B);
    try {
      return tf.tidy(() => {
        const outputs: Tensor[] = [];
        const rng = options.rng ?? new Rng(0);
        for (let start = 0, index = 0; start < L; start += segmentLength, index++) {
          const length = Math.min(segmentLength, L - start);
          const segmentIds = tf.slice(ids, [0, start], [B, length]);
          let ctx: ForwardContext = {
            causal: true,
            training: options.training ?? false,
            positions: defaultPositions(B, length),
            rng: rng.fork(`segment${index}`),
            layerIndex: 0,
            scratch: options.scratch ?? new Map(),
            auxLosses: options.auxLosses,
            segmentIndex: index,
          };
          let h = this.embedTokens(segmentIds, ctx.positions, ctx);
          if (this.memory) {
            h = this.memory.read(h, memoryState!, ctx);
            ctx = { ...ctx, positions: defaultPositions(B, (h.shape as number[])[1]) };
          }
          ctx = { ...ctx, embeddings: h };
          for (let i = 0; i < this.blocks.length; i++) {
            const block = this.blocks.at(i);
            const lctx = { ...ctx, layerIndex: i };
            if (states[i]) [h, states[i]] = block.forwardSegment(h, states[i]!, lctx);
            else h = block.forward(h, lctx);
          }
          if (this.memory) [h, memoryState] = this.memory.write(h, memoryState!, ctx);
          outputs.push(h);
        }
        return tf.concat(outputs, 1); // [B, L, D]
      });
    } finally {
      for (const s of states) s?.dispose();
      memoryState?.dispose();
    }
  }

  /** Next-token logits [B, L, vocab]. */
  forward(ids: Tensor, options: ForwardOptions = {}): Tensor {
    return tf.tidy(() => this.project(this.hidden(ids, options)));
  }

  /** Mean next-token cross-entropy over `lossMask` (all targets by default) plus auxiliary losses. */
  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor {
    const aux = new AuxLossCollector();
    try {
      return tf.tidy(() => {
        const logits = this.forward(batch.inputs, { ...options, positions: batch.positions, segmentIds: batch.segmentIds, auxLosses: aux });
        return tf.add(maskedCrossEntropy(logits, batch.targets, batch.lossMask), aux.total());
      });
    } finally {
      aux.dispose();
    }
  }

  /** True when every layer can decode incrementally (else generation recomputes the prefix). */
  canDecode(): boolean {
    if (this.resolved.config.segmentLength !== undefined) return false; // generation recomputes segment by segment
    return this.reducerSpans.length === 0 && Array.from(this.blocks).every((b) => b.canDecode());
  }

  initCache(batch: number): ModelCache {
    if (!this.canDecode()) {
      const bad = Array.from(this.blocks).findIndex((b) => !b.canDecode());
      throw new StateError(
        bad >= 0
          ? `Layer ${bad}'s mixer has no step(): it cannot decode incrementally. generate() falls back to recomputing the prefix.`
          : 'Models with token reducers cannot decode incrementally.',
      );
    }
    return new ModelCache(Array.from(this.blocks).map((b) => b.initState(batch)));
  }

  /** Feed T new tokens [B, T] and get their logits [B, T, vocab]; advances the cache. */
  step(ids: Tensor, cache: ModelCache, rng = new Rng(0)): Tensor {
    this.checkIds(ids);
    const [B, T] = ids.shape;
    const start = cache.position;
    const positions = defaultPositions(B, T, start);
    try {
      const logits = tf.tidy(() => {
        const scratch = new Map<string, unknown>();
        const fctx: ForwardContext = { causal: true, training: false, positions, rng, layerIndex: 0, scratch };
        let h = this.embedTokens(ids, positions, fctx);
        const embeddings = h;
        if (this.resolved.config.residual === 'reversible') {
          const ctxFor = (i: number): StepContext => ({ training: false, rng, layerIndex: i, positions, scratch, embeddings });
          return this.project(stepReversible(this.blocks, h, cache.layers, (i, next) => cache.set(i, next), ctxFor));
        }
        for (let i = 0; i < this.blocks.length; i++) {
          const ctx: StepContext = { training: false, rng, layerIndex: i, positions, scratch, embeddings };
          const [y, next] = this.blocks.at(i).step(h, cache.layers[i], ctx);
          cache.set(i, next);
          h = y;
        }
        return this.project(h);
      });
      cache.position = start + T;
      return logits;
    } finally {
      positions.dispose();
    }
  }

  /** A table of layers, kinds and parameter counts. */
  summary(): string {
    return summarize(this);
  }
}
