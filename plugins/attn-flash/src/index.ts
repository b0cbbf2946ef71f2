/**
 * @weft/attn-flash — FlashAttention (Dao et al. 2022) and FlashAttention-2 (Dao 2023):
 * exact attention computed in tiles with an online softmax, the logsumexp saved and the
 * backward recomputed, a block-sparse variant, and a fused WASM SIMD kernel.
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import flash from '@weft/attn-flash';
 * const kernel = createRegistry().use(flash).create('attention', { kind: 'flash', blockQ: 64, blockK: 64 });
 * const out = kernel.attend(q, k, v, ctx); // [B, H, Lq, Dv]
 * ```
 */
import { attention, definePlugin } from '@weft/core';
import { VERSION } from '../generated/version.js';
import { FLASH_CAPABILITIES, FlashAttention } from './flash.js';
import { flashOptions } from './options.js';

export { FlashAttention, FLASH_CAPABILITIES } from './flash.js';
export { flashOptions, blockMaskSchema, blockTable, type FlashOptions, type BlockMask } from './options.js';
export { fusedAvailable } from './kernels/wasm/FlashAttention_impl.js';

export const FLASH_PAPERS = [
  {
    title: 'FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness',
    arxiv: '2205.14135',
    year: 2022,
    url: 'https://arxiv.org/abs/2205.14135',
  },
  {
    title: 'FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning',
    arxiv: '2307.08691',
    year: 2023,
    url: 'https://arxiv.org/abs/2307.08691',
  },
];

export default definePlugin({
  name: '@weft/attn-flash',
  version: VERSION,
  papers: FLASH_PAPERS,
  description: 'Exact attention in tiles with an online softmax; O(L) memory; block-sparse variant; fused WASM SIMD kernel.',
  provides: [
    attention('flash', {
      options: flashOptions,
      description: 'FlashAttention 1/2: tiled exact softmax attention, recomputation backward, optional block-sparse mask.',
      capabilities: FLASH_CAPABILITIES,
      create: (options) => new FlashAttention(options),
    }),
  ],
});
