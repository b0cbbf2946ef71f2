/**
 * @weft/heads-inattention: InAttention, "InAttention: Linear Context Scaling for Transformers"
 * (Eisner 2024) arXiv:2410.07063.
 *
 * Provides the heads kind "inattention" (./inattention.ts): every layer's keys and values are
 * projected from the initial (embedding-layer) states, its queries from its own input.
 */
import { definePlugin, heads } from '@weft/core';
import { InAttentionHeads, InAttentionOptions } from './inattention.js';
import { inAttentionStore } from './model-scope.js';
import { VERSION } from './version.js';

export { InAttentionHeads, InAttentionOptions, type InAttentionBuild } from './inattention.js';
export { inAttentionStore, InAttentionStore } from './model-scope.js';
export { INITIAL_STATES, publishInitialStates, takeInitialStates } from './initial-states.js';

export default definePlugin({
  name: '@weft/heads-inattention',
  version: VERSION,
  paper: { title: 'InAttention: Linear Context Scaling for Transformers', arxiv: '2410.07063', year: 2024 },
  provides: [
    heads('inattention', {
      description: 'InAttention: queries from each layer\'s input, keys and values from the initial (embedding-layer) states only.',
      options: InAttentionOptions,
      capabilities: { decode: true },
      create: (options, ctx) => new InAttentionHeads(options, { ...ctx, store: inAttentionStore(ctx.modelContainer) }),
    }),
  ],
});
