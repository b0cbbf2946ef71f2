/**
 * What the playground lets you pick: one entry per choice of each slot, the plugin package it
 * needs, and the model config those choices produce.
 */
import { createRegistry, type Plugin, type Registry } from '@weft/core';
import { standard, type ModelConfigInput } from '@weft/nn';
import flash from '@weft/attn-flash';
import linear from '@weft/attn-linear';
import mingru from '@weft/mixer-mingru';
import alibi from '@weft/pos-alibi';
import rope from '@weft/pos-rope';

export interface Choice {
  /** The slot `kind` written into the model config. */
  kind: string;
  label: string;
  /** The package that provides it (standard pieces come with @weft/nn). */
  from: string;
}

export const POSITIONAL_CHOICES: readonly Choice[] = [
  { kind: 'sinusoidal', label: 'sinusoidal', from: '@weft/nn' },
  { kind: 'learned', label: 'learned', from: '@weft/nn' },
  { kind: 'none', label: 'none', from: '@weft/nn' },
  { kind: 'rope', label: 'RoPE', from: '@weft/pos-rope' },
  { kind: 'alibi', label: 'ALiBi', from: '@weft/pos-alibi' },
];

export const ATTENTION_CHOICES: readonly Choice[] = [
  { kind: 'dense', label: 'dense (softmax)', from: '@weft/nn' },
  { kind: 'flash', label: 'flash (tiled)', from: '@weft/attn-flash' },
  { kind: 'linear', label: 'linear', from: '@weft/attn-linear' },
];

export const MIXER_CHOICES: readonly Choice[] = [
  { kind: 'attention', label: 'attention', from: '@weft/nn' },
  { kind: 'mingru', label: 'minGRU', from: '@weft/mixer-mingru' },
];

export const FEEDFORWARD_CHOICES: readonly Choice[] = [
  { kind: 'mlp', label: 'MLP (GELU)', from: '@weft/nn' },
  { kind: 'swiglu', label: 'SwiGLU', from: '@weft/nn' },
];

const PLUGINS: Readonly<Record<string, Plugin>> = {
  '@weft/nn': standard,
  '@weft/pos-rope': rope,
  '@weft/pos-alibi': alibi,
  '@weft/attn-flash': flash,
  '@weft/attn-linear': linear,
  '@weft/mixer-mingru': mingru,
};

/** A registry holding the standard pieces and every plugin the playground offers. */
export function playgroundRegistry(): Registry {
  return createRegistry().use(...Object.values(PLUGINS));
}

export interface Selection {
  positional: string;
  attention: string;
  mixer: string;
  feedforward: string;
  dModel: number;
  layers: number;
  heads: number;
  seqLen: number;
}

export const DEFAULT_SELECTION: Selection = {
  positional: 'rope',
  attention: 'dense',
  mixer: 'attention',
  feedforward: 'mlp',
  dModel: 32,
  layers: 2,
  heads: 2,
  seqLen: 32,
};

/** The model config for a selection and vocabulary. */
export function modelConfig(selection: Selection, vocab: number): ModelConfigInput {
  const attention: Record<string, unknown> = { kind: selection.attention };
  // Flash tiles default to 64; tiles a quarter of the sequence show the tiling at playground sizes.
  if (selection.attention === 'flash') Object.assign(attention, { blockQ: Math.max(8, selection.seqLen / 4), blockK: Math.max(8, selection.seqLen / 4) });
  return {
    vocab,
    dModel: selection.dModel,
    layers: selection.layers,
    heads: selection.heads,
    maxLen: Math.max(256, selection.seqLen * 4),
    positional: { kind: selection.positional },
    mixer: { kind: selection.mixer },
    attention,
    feedforward: { kind: selection.feedforward },
  } as ModelConfigInput;
}
