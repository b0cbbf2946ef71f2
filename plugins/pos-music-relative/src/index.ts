/**
 * @weft/pos-music-relative: Music Transformer (2018) arXiv:1809.04281.
 *
 * Provides the attention kind "music-relative" (relative attention with the skewing trick);
 * the technique lives in ./music-relative.ts.
 */
import { attention, definePlugin } from '@weft/core';
import { musicRelativeCapabilities, MusicRelativeAttention, MusicRelativeOptions } from './music-relative.js';
import { VERSION } from './version.js';

export { musicRelativeCapabilities, MusicRelativeAttention, MusicRelativeOptions, relativeLogits, skew } from './music-relative.js';

export default definePlugin({
  name: '@weft/pos-music-relative',
  version: VERSION,
  paper: { title: 'Music Transformer', arxiv: '1809.04281', year: 2018 },
  provides: [
    attention('music-relative', {
      description: 'Music Transformer relative attention: causal dense attention plus Q·E_r relative logits computed with the memory-efficient skewing trick (per-layer E_r shared across heads).',
      options: MusicRelativeOptions,
      capabilities: musicRelativeCapabilities,
      create: (options, ctx) => new MusicRelativeAttention(options, ctx.dims, ctx.rng),
    }),
  ],
});
