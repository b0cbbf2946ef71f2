/**
 * @weft/memory-rmt: Recurrent Memory Transformer (Bulatov et al., 2022) arXiv:2207.06881.
 *
 * ```ts
 * const model = buildModel(createRegistry().use(standard, rmt), {
 *   vocab: 64, dModel: 32, layers: 2, segmentLength: 16, memory: { kind: 'rmt', tokens: 4 },
 * });
 * ```
 */
import { memory, definePlugin } from '@weft/core';
import { rmtCapabilities, RmtMemory, RmtOptions } from './rmt.js';
import { VERSION } from './version.js';

export { rmtCapabilities, RmtMemory, RmtOptions, RmtState } from './rmt.js';
export { VERSION } from './version.js';

export const PAPER = { title: 'Recurrent Memory Transformer', arxiv: '2207.06881', year: 2022, url: 'https://arxiv.org/abs/2207.06881' };

export default definePlugin({
  name: '@weft/memory-rmt',
  version: VERSION,
  paper: PAPER,
  description: 'Recurrent Memory Transformer: m memory tokens read before and written after each segment; BPTT across segments.',
  provides: [
    memory('rmt', {
      description: 'RMT memory tokens: [mem_read; segment; mem_write], the write tokens\' outputs become the next segment\'s memory.',
      options: RmtOptions,
      capabilities: rmtCapabilities,
      create: (options, ctx) => new RmtMemory(options, ctx.dims, ctx.rng),
    }),
  ],
});
