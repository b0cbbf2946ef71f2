/**
 * The slots: every place a technique can plug in. A slot is an interface, a capability
 * record declared by providers (so configs can be checked before anything is built), and a
 * tsyringe injection token. Each slot carries a spec version; changing an interface is a
 * core major and bumps its version.
 *
 * Shapes: B batch, L length, D model width, H query heads, Hkv key/value heads, Dh head width.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { InjectionToken } from 'tsyringe';
import type { AttentionContext, ForwardContext, StepContext } from './context.js';
import type { Module } from './module.js';
import type { Rng } from './rng.js';

export const SLOT_NAMES = [
  'embedding',
  'positional',
  'attention',
  'mixer',
  'heads',
  'feedforward',
  'norm',
  'reducer',
  'memory',
  'kvCache',
  'trainer',
  'parallel',
] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

/** Spec version of each slot's interface. A provider built against another major is refused. */
export const SLOT_SPEC_VERSIONS: Record<SlotName, number> = {
  embedding: 1,
  positional: 1,
  attention: 1,
  mixer: 1,
  heads: 1,
  feedforward: 1,
  norm: 1,
  reducer: 1,
  memory: 1,
  kvCache: 1,
  trainer: 1,
  parallel: 1,
};

/** The plugin-family prefix conventionally used by packages that fill each slot. */
export const SLOT_FAMILIES: Record<SlotName, string[]> = {
  embedding: ['tok'],
  positional: ['pos'],
  attention: ['attn'],
  mixer: ['mixer'],
  heads: ['heads', 'moe'],
  feedforward: ['ffn', 'moe'],
  norm: ['ffn'],
  reducer: ['reduce'],
  memory: ['memory'],
  kvCache: ['kv'],
  trainer: ['train'],
  parallel: ['parallel'],
};

// ---------------------------------------------------------------------------------------
// State carried between decoding steps: ONE contract for KV caches, recurrent states and
// memory tokens. Every state owns its tensors and must be disposed explicitly.

export interface LayerState {
  /** Bytes of tensor data this state holds (for cache-size accounting). */
  bytes(): number;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------
// Slot interfaces

/** Slot 'embedding': token ids -> vectors, and optionally the tied output projection. */
export interface TokenEmbedding extends Module {
  embed(ids: Tensor /* [B, L] int32 */): Tensor; /* [B, L, D] */
  /** Tied output projection: [B, L, D] -> [B, L, vocab]. */
  logits?(hidden: Tensor): Tensor;
}

export interface PositionalHooks {
  embed: boolean;
  rotate: boolean;
  bias: boolean;
  /** Scales attention logits (learned temperatures, log-n scaling). */
  logitScale?: boolean;
  /** Each attention layer gets its own instance (e.g. FIRE's per-layer MLP); default one per model. */
  perLayer?: boolean;
}

/** Slot 'positional'. An encoding implements any subset of the three hooks. */
export interface PositionalEncoding {
  /** Additive absolute encoding applied to the embeddings. */
  embed?(x: Tensor /* [B, L, D] */, positions: Tensor /* [B, L] */, ctx: ForwardContext): Tensor;
  /** Rotary family: transform q and k ([B, H, L, Dh]) given their positions ([B, L]). */
  rotate?(q: Tensor, k: Tensor, qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext): [Tensor, Tensor];
  /**
   * Logit bias for the given query/key positions ([B, Lq], [B, Lk]); returns
   * [B or 1, H or 1, Lq, Lk]. Called tile by tile by tiled kernels. `x` is the layer input
   * [B, L, D], for content-dependent biases.
   */
  bias?(qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext & { x?: Tensor }): Tensor;
  /** Per-head multiplier on the attention logits ([H] or scalar), e.g. learned temperatures. */
  logitScale?(ctx: ForwardContext, queryLength: number): Tensor | number;
}

export interface AttentionCapabilities {
  causal: boolean;
  bidirectional: boolean;
  /** Accepts an additive logit bias (ALiBi, T5, FIRE ...). */
  bias: boolean;
  /** Honours key padding masks. */
  padding: boolean;
  /** Honours segment ids (packed sequences). */
  segments: boolean;
  /** Can attend a few new queries to a cached prefix (decoding). */
  decode: boolean;
  /** Can report its attention weights. */
  weights: boolean;
  /** Decodes from its own fixed-size state (initState/attendStep), not from a KV cache. */
  state?: boolean;
}

/** Sizes a stateful attention kernel needs to allocate its decoding state. */
export interface AttentionStateDims {
  heads: number;
  kvHeads: number;
  headDim: number;
  layerIndex: number;
}

/** Slot 'attention': (q, k, v) -> output, no projections. */
export interface AttentionKernel {
  attend(q: Tensor /* [B, H, Lq, Dh] */, k: Tensor /* [B, Hkv, Lk, Dh] */, v: Tensor /* [B, Hkv, Lk, Dv] */, ctx: AttentionContext): Tensor; /* [B, H, Lq, Dv] */
  readonly supports: AttentionCapabilities;
  /**
   * Kernels that decode from a fixed-size recurrent state (the linear-attention family)
   * implement `initState` and `attendStep`: the attention mixer then keeps that state instead
   * of a KV cache. `attendStep` receives only the T new tokens' q, k, v ([B, H, T, Dh],
   * [B, Hkv, T, Dh]), consumes the state and returns the outputs and the next state.
   */
  initState?(batch: number, dims: AttentionStateDims): LayerState;
  attendStep?(q: Tensor, k: Tensor, v: Tensor, state: LayerState, ctx: AttentionContext): [Tensor, LayerState];
}

export interface MixerCapabilities {
  causal: boolean;
  bidirectional: boolean;
  /** Implements initState/step for constant-memory (or cached) decoding. */
  decode: boolean;
  /** Resets its state at segment-id boundaries. */
  segments: boolean;
  /** Honours padding masks. */
  padding: boolean;
}

/** Slot 'mixer': a whole token-mixing sublayer (attention with projections, SSM, RNN, FFT...). */
export interface SequenceMixer extends Module {
  forward(x: Tensor /* [B, L, D] */, ctx: ForwardContext): Tensor; /* [B, L, D] */
  /** Empty decoding state for a batch. */
  initState?(batch: number): LayerState;
  /** False when this instance cannot decode although it has `step` (e.g. its attention kernel cannot). */
  canDecode?(): boolean;
  /**
   * Feed T >= 1 new tokens ([B, T, D]) and return their outputs and the next state. The
   * input state is consumed: the mixer may dispose or reuse its tensors. Tensors the returned
   * state holds must survive an enclosing tf.tidy (create them with tf.keep).
   */
  step?(x: Tensor, state: LayerState, ctx: StepContext): [Tensor, LayerState];
  /**
   * Segment recurrence (Transformer-XL, Infini-attention, Block-Recurrent, FAM): run one
   * segment [B, Ls, D] of a long input given the state carried from earlier segments (from
   * `initState`), in training too. Whether gradients flow into earlier segments through the
   * state is the technique's choice (Transformer-XL stops them; RMT-style BPTT keeps them).
   * The model calls this when its config sets `segmentLength`.
   */
  forwardSegment?(x: Tensor, state: LayerState, ctx: ForwardContext): [Tensor, LayerState];
}

/** Slot 'heads': how q/k/v are projected and heads are laid out (MHA, MQA/GQA, CLA, ...). */
export interface HeadLayout extends Module {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** q [B, H, L, Dh], k and v [B, Hkv, L, Dh]. */
  project(x: Tensor, ctx: ForwardContext | StepContext): { q: Tensor; k: Tensor; v: Tensor };
  /** [B, H, L, Dh] -> [B, L, D]. */
  output(o: Tensor, ctx: ForwardContext | StepContext): Tensor;
}

/** Slot 'feedforward'. Routed layers report balance losses through ctx.auxLosses. */
export interface FeedForward extends Module {
  forward(x: Tensor /* [B, L, D] */, ctx: ForwardContext): Tensor;
}

/** Slot 'norm'. */
export interface Norm extends Module {
  forward(x: Tensor /* [..., D] */): Tensor;
}

/** The result of shortening a sequence; `restore` maps a shortened output back to full length. */
export interface Reduction {
  x: Tensor; /* [B, L', D] */
  ctx: ForwardContext;
  restore(y: Tensor /* [B, L', D] */): Tensor; /* [B, L, D] */
}

/** Slot 'reducer': shorten the sequence between layers (prune, pool, merge, drop). */
export interface TokenReducer extends Module {
  reduce(x: Tensor, ctx: ForwardContext): Reduction;
}

/**
 * Slot 'memory': model-level state carried across the segments of a long input (e.g. the
 * Recurrent Memory Transformer's memory tokens). Per-layer memories implement
 * SequenceMixer.forwardSegment instead.
 */
export interface SegmentMemory extends Module {
  init(batch: number): LayerState;
  /**
   * Before a segment: e.g. add read/write memory tokens around the segment's embeddings
   * [B, Ls, D]. Returns the sequence the layers run on ([B, Ls', D]; positions are 0..Ls'-1).
   */
  read(x: Tensor, state: LayerState, ctx: ForwardContext): Tensor;
  /** After a segment: take the memory tokens off ([B, Ls', D] -> [B, Ls, D]) and return the next state. */
  write(h: Tensor, state: LayerState, ctx: ForwardContext): [Tensor, LayerState];
}

/** Slot 'kvCache': what an attention layer keeps between decoding steps. */
export interface KVCache extends LayerState {
  /** Tokens currently held. */
  readonly length: number;
  /** Append new keys/values [B, Hkv, T, Dh] and their positions [B, T]; takes ownership. */
  append(k: Tensor, v: Tensor, positions: Tensor): void;
  /** Keys/values/positions to attend to: [B, Hkv, Lc, Dh] ×2 and [B, Lc]. Owned by the cache. */
  keys(): Tensor;
  values(): Tensor;
  positions(): Tensor;
  /** Attention weights [B, H, T, Lc] of the latest queries, for eviction policies. */
  observe?(weights: Tensor): void;
}

export interface KVCacheFactory {
  create(batch: number, dims: { kvHeads: number; headDim: number; layerIndex: number }): KVCache;
  /** The cache policy needs attention weights (observe) from the kernel. */
  readonly needsWeights: boolean;
}

/** A training batch. */
export interface Batch {
  inputs: Tensor; /* [B, L] int32 */
  targets: Tensor; /* [B, L] int32 */
  /** [B, L] float32 weight per target (0 ignores it). */
  lossMask?: Tensor;
  positions?: Tensor;
  segmentIds?: Tensor;
  /** Encoder input ids [B, Ls] for encoder-decoder models. */
  sources?: Tensor;
}

/**
 * A stream of training batches with a resumable cursor: `state()` is JSON, and after
 * `restore(state)` the source yields exactly the batches it would have yielded next.
 */
export interface DataSource {
  next(): Batch;
  state(): unknown;
  restore(state: unknown): void;
}

/** What the trainer needs of a model. */
export interface TrainableModel extends Module {
  /** The JSON config that built the model (stored in checkpoints). */
  readonly config: object;
  /**
   * Mean training loss of a batch, including auxiliary losses, as a scalar. Called inside
   * the trainer's gradient scope; `rng` drives dropout and other training randomness.
   */
  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor;
}

export interface StepInfo {
  step: number;
  loss: number;
  learningRate: number;
}

/** Slot 'trainer': hooks a training strategy into the loop. */
export interface TrainerHooks {
  transformBatch?(batch: Batch, step: number): Batch;
  beforeStep?(step: number): void;
  afterStep?(info: StepInfo): void;
  onEval?(info: { step: number; evalLoss: number }): void;
}

/** Slot 'parallel': split the sequence across devices for attention. */
export interface SequenceParallel {
  readonly devices: number;
  attend(q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext, kernel: AttentionKernel): Tensor;
}

/** The instance type each slot's providers create. */
export interface SlotInstances {
  embedding: TokenEmbedding;
  positional: PositionalEncoding;
  attention: AttentionKernel;
  mixer: SequenceMixer;
  heads: HeadLayout;
  feedforward: FeedForward;
  norm: Norm;
  reducer: TokenReducer;
  memory: SegmentMemory;
  kvCache: KVCacheFactory;
  trainer: TrainerHooks;
  parallel: SequenceParallel;
}

/** The capability record each slot's providers declare (static, checked at config time). */
export interface SlotCapabilities {
  embedding: { tied: boolean };
  positional: PositionalHooks;
  attention: AttentionCapabilities;
  mixer: MixerCapabilities;
  heads: { decode: boolean };
  feedforward: { auxLoss: boolean };
  norm: Record<string, never>;
  reducer: { causal: boolean };
  memory: { causal: boolean };
  kvCache: { lossy: boolean };
  trainer: Record<string, never>;
  parallel: Record<string, never>;
}

const tokens = new Map<SlotName, symbol>();
/** The tsyringe token under which a slot's providers are registered (multi-binding). */
export function slotToken(slot: SlotName): InjectionToken<unknown> {
  let t = tokens.get(slot);
  if (!t) {
    t = Symbol.for(`weft.slot.${slot}`);
    tokens.set(slot, t);
  }
  return t;
}
