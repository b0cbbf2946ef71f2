/**
 * Per-model services the builder registers in the model's (or layer's) child container, so
 * layers can ask for model-level pieces without globals.
 */
import type { InjectionToken } from 'tsyringe';
import type { PositionalEncoding, SlotConfig, Tensor } from '@weft/core';

/** The positional encoding in force for the layer being built (shared or per layer). */
export interface LayerPositional {
  encoding: PositionalEncoding | undefined;
  config: SlotConfig | undefined;
  /** The layer built this instance itself and owns its parameters. */
  owned: boolean;
}

export const POSITIONAL: InjectionToken<LayerPositional> =
  Symbol.for('weft.nn.positional');

/** Scratch key under which a forward may install an attention-weights recorder. */
export const RECORD_ATTENTION = 'weft.nn.recordAttention';
/** Receives softmax weights [B, H, Lq, Lk] of a layer; copy what you need (the tensor is freed after). */
export type AttentionRecorder = (layerIndex: number, weights: Tensor) => void;
