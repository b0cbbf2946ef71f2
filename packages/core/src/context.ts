/**
 * What a layer sees besides its input: the contexts passed through forward passes,
 * attention kernels and decoding steps.
 *
 * Shapes: B batch, L length, D model width, H query heads, Hkv key/value heads, Dh head width.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

/** Collects auxiliary losses (MoE balance, router z-loss, distillation) during a forward. */
export interface AuxLosses {
  add(name: string, value: Tensor /* scalar */, weight?: number): void;
}

export interface ForwardContext {
  /** Causal (decoder) or bidirectional (encoder) masking. */
  readonly causal: boolean;
  readonly training: boolean;
  /** Absolute position of every token, [B, L] int32 (restarts at 0 per packed sequence). */
  readonly positions: Tensor;
  /** Packed-sequence ids, [B, L] int32: tokens interact only within equal ids. */
  readonly segmentIds?: Tensor;
  /** [B, L] float32, 1 for real tokens and 0 for padding. */
  readonly paddingMask?: Tensor;
  readonly rng: Rng;
  /** Index of the layer being run (0-based). */
  readonly layerIndex: number;
  /** Per-forward scratch space for cross-layer sharing (CLA, value residual, ...). */
  readonly scratch: Map<string, unknown>;
  /** The embedding-layer output, [B, L, D] (InAttention projects K/V from it). */
  readonly embeddings?: Tensor;
  readonly auxLosses?: AuxLosses;
  /** Index of the segment being run when the model processes its input in segments. */
  readonly segmentIndex?: number;
}

/** A half-open index range [start, end) along one sequence axis. */
export interface IndexRange {
  start: number;
  end: number;
}

/**
 * An additive logit bias addressed by tile, so a tiled kernel can ask for the part it needs
 * without an L×L tensor ever existing. Returns [B or 1, H or 1, q.end-q.start, k.end-k.start].
 */
export type LogitBias = (q: IndexRange, k: IndexRange) => Tensor;

export interface AttentionContext {
  readonly causal: boolean;
  /** Multiplier on q·k before softmax (default Dh^-1/2). A per-head [H] tensor is allowed. */
  readonly scale: number | Tensor;
  /**
   * Causal alignment: query i may see key j iff j <= i + queryOffset. Bottom-right alignment
   * (flash-attn >= 2.1) is queryOffset = Lk - Lq, used when decoding with a cache.
   */
  readonly queryOffset: number;
  readonly logitBias?: LogitBias;
  /** [B, Lk] float32, 1 keep / 0 drop. */
  readonly keyPaddingMask?: Tensor;
  /** [B, Lq] and [B, Lk] int32: query and key interact only when ids are equal. */
  readonly querySegmentIds?: Tensor;
  readonly keySegmentIds?: Tensor;
  /** [B, Lq] / [B, Lk] int32 absolute positions (for kernels with position-dependent patterns). */
  readonly queryPositions?: Tensor;
  readonly keyPositions?: Tensor;
  readonly training: boolean;
  readonly rng: Rng;
  readonly layerIndex: number;
  /** If set, a kernel that can (declares `weights`) reports its softmax weights [B, H, Lq, Lk]. */
  readonly recordWeights?: (weights: Tensor) => void;
}

export interface StepContext {
  readonly training: false;
  readonly rng: Rng;
  readonly layerIndex: number;
  /** Positions of the tokens being fed, [B, T] int32. */
  readonly positions: Tensor;
  readonly scratch: Map<string, unknown>;
  readonly embeddings?: Tensor;
}
