/**
 * @weft/heads-mqa: multi-query attention (Shazeer 2019, arXiv:1911.02150) and its
 * generalisation grouped-query attention (Ainslie et al. 2023, arXiv:2305.13245).
 *
 * Provides the heads kinds "mqa" (one key/value head) and "gqa" (`kvHeads` key/value heads);
 * the technique lives in ./grouped-query.ts.
 */
import { definePlugin, heads } from '@weft/core';
import { checkKvHeads, GqaOptions, groupedQueryCapabilities, GroupedQueryHeads, MqaOptions, residualStd } from './grouped-query.js';
import { VERSION } from './version.js';

export { checkKvHeads, expandKvHeads, GqaOptions, groupedQueryCapabilities, GroupedQueryHeads, MqaOptions, type GroupedQueryOptions } from './grouped-query.js';

export default definePlugin({
  name: '@weft/heads-mqa',
  version: VERSION,
  paper: { title: 'Fast Transformer Decoding: One Write-Head is All You Need', arxiv: '1911.02150', year: 2019 },
  papers: [{ title: 'GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints', arxiv: '2305.13245', year: 2023 }],
  provides: [
    heads('mqa', {
      description: 'Multi-query attention: H query heads share one key head and one value head (KV cache H times smaller).',
      options: MqaOptions,
      capabilities: groupedQueryCapabilities,
      create: (options, ctx) => new GroupedQueryHeads(ctx.dims, ctx.rng, { kvHeads: 1, bias: options.bias, outStd: residualStd(ctx.dims.layers) }),
    }),
    heads('gqa', {
      description: 'Grouped-query attention: kvHeads key/value heads, each shared by heads/kvHeads contiguous query heads.',
      options: GqaOptions,
      capabilities: groupedQueryCapabilities,
      create: (options, ctx) => {
        checkKvHeads(ctx.dims.heads, options.kvHeads, ctx.path);
        return new GroupedQueryHeads(ctx.dims, ctx.rng, { kvHeads: options.kvHeads, bias: options.bias, outStd: residualStd(ctx.dims.layers) });
      },
    }),
  ],
});
