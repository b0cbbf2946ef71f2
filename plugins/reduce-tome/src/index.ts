/**
 * @weft/reduce-tome: token merging (ToMe) as used in TinyChart (2024) arXiv:2404.16635.
 *
 * Provides the reducer kind "tome"; the technique lives in ./tome.ts.
 */
import { reducer, definePlugin } from '@weft/core';
import { tomeCapabilities, TomeReducer, TomeOptions } from './tome.js';
import { VERSION } from './version.js';

export { tomeCapabilities, TomeReducer, TomeOptions, TOME_SIZES, bipartiteMatching, type TomeMatching } from './tome.js';

export default definePlugin({
  name: '@weft/reduce-tome',
  version: VERSION,
  paper: { title: 'TinyChart: Efficient Chart Understanding with Visual Token Merging and Program-of-Thoughts Learning', arxiv: '2404.16635', year: 2024 },
  provides: [
    reducer('tome', {
      description: 'Token merging (ToMe, as in TinyChart): bipartite soft matching merges the r most similar token pairs by size-weighted mean, and unmerge copies outputs back; bidirectional only.',
      options: TomeOptions,
      capabilities: tomeCapabilities,
      create: (options) => new TomeReducer(options),
    }),
  ],
});
