/**
 * @weft/attn-linformer — Linformer (Wang et al. 2020, "Linformer: Self-Attention with Linear
 * Complexity", arXiv 2006.04768): keys and values projected along the sequence to k rows by
 * learned E, F; O(n·k) bidirectional attention with the paper's four sharing schemes.
 */
import { attention, definePlugin, z } from '@weft/core';
import type { DependencyContainer } from 'tsyringe';
import { LINFORMER_CAPABILITIES, LinformerAttention, type SharedProjection } from './linformer.js';
import { VERSION } from './version.js';

export { LinformerAttention, LINFORMER_CAPABILITIES, linformerAttention, projectSequence, type LinformerShape, type LinformerSharing, type SharedProjection } from './linformer.js';
export { VERSION } from './version.js';

export const LINFORMER_PAPER = {
  title: 'Linformer: Self-Attention with Linear Complexity',
  arxiv: '2006.04768',
  year: 2020,
  url: 'https://arxiv.org/abs/2006.04768',
};

export const linformerOptions = z.object({
  /** Projected length k (the paper's k; the reference code's default 256). */
  k: z
    .number({ message: 'k must be a positive integer such as 256' })
    .int({ message: 'k must be a whole number of projected rows (e.g. 256)' })
    .positive({ message: 'k must be at least 1 (the paper uses 128 or 256)' })
    .default(256),
  /** n: the length E, F are built for; default the model's maxLen. Shorter inputs use the first rows. */
  seqLen: z
    .number({ message: 'seqLen must be a positive integer (the longest input length)' })
    .int({ message: 'seqLen must be a whole number of positions' })
    .positive({ message: 'seqLen must be at least 1; leave it out to use the model maxLen' })
    .optional(),
  /** §4 parameter sharing. */
  sharing: z
    .enum(['none', 'headwise', 'key-value', 'layerwise'], { message: 'sharing must be one of "none", "headwise", "key-value", "layerwise"' })
    .default('headwise'),
});

const stores = new WeakMap<object, SharedProjection>();
function sharedProjection(modelContainer: DependencyContainer): SharedProjection {
  let store = stores.get(modelContainer);
  if (!store) {
    store = {};
    stores.set(modelContainer, store);
  }
  return store;
}

export default definePlugin({
  name: '@weft/attn-linformer',
  version: VERSION,
  paper: LINFORMER_PAPER,
  description: 'Linformer softmax(Q(EK)ᵀ/√d)(FV): K, V projected along the sequence to k rows; O(n·k), bidirectional.',
  provides: [
    attention('linformer', {
      description: 'Linformer attention (Wang 2020, eq. 7): learned E, F (seqLen × k, init U(±1/√k)) project K and V along the sequence; softmax over k; sharing none / headwise / key-value / layerwise; bidirectional only.',
      options: linformerOptions,
      capabilities: LINFORMER_CAPABILITIES,
      create: (opts, ctx) =>
        new LinformerAttention({ k: opts.k, seqLen: opts.seqLen ?? ctx.dims.maxLen, sharing: opts.sharing }, ctx.dims.heads, ctx.rng, {
          store: sharedProjection(ctx.modelContainer),
          layerIndex: ctx.layerIndex,
          path: ctx.path,
        }),
    }),
  ],
});
