/**
 * Options of the `flash` attention kernel (zod), and the block-sparse pattern they describe.
 *
 * Names follow the FlashAttention papers: B_r / B_c are the query / key tile sizes (here
 * `blockQ` / `blockK`); the block-sparse variant (FlashAttention-1, Sec. 3.3, Algorithm 5)
 * takes a block mask M̃ ∈ {0,1}^{N/B_r × N/B_c} and skips the tiles where it is 0.
 */
import { z } from '@weft/core';

const blockIndex = z.number().int().nonnegative();

/** The block mask M̃: which (query tile, key tile) pairs are computed. */
export const blockMaskSchema = z.discriminatedUnion('kind', [
  /** Tile (i, j) is kept iff |i - j| <= windowBlocks (a banded, "local" pattern). */
  z.object({ kind: z.literal('local'), windowBlocks: blockIndex }),
  /** Exactly the listed [queryTile, keyTile] pairs are kept. */
  z.object({ kind: z.literal('pairs'), pairs: z.array(z.tuple([blockIndex, blockIndex])) }),
]);
export type BlockMask = z.output<typeof blockMaskSchema>;

export const flashOptions = z.object({
  /** Query tile size B_r (rows of Q per tile). */
  blockQ: z.number().int().positive().max(4096).default(64),
  /** Key/value tile size B_c (rows of K, V per tile). */
  blockK: z.number().int().positive().max(4096).default(64),
  /** Block-sparse FlashAttention: tiles outside the pattern are skipped (not computed). */
  blockMask: blockMaskSchema.optional(),
  /**
   * `tiled`: tfjs ops tile by tile (any backend). `fused`: the WASM SIMD kernel (data is
   * read back to the CPU, so meant for the cpu and wasm backends). `webgpu`: the WGSL
   * kernels (webgpu backend only; a per-head scale tensor, a logit bias or a block mask
   * fall back to tiled). `auto`: fused on wasm, webgpu on webgpu where supported, tiled
   * elsewhere.
   */
  implementation: z.enum(['auto', 'tiled', 'fused', 'webgpu']).default('auto'),
});
export type FlashOptions = z.output<typeof flashOptions>;

/**
 * M̃ as a dense [nQB, nKB] table of 0/1 (nQB = ceil(Lq / blockQ), nKB = ceil(Lk / blockK)).
 * Tile indices count from the first query and the first key. Pairs outside the grid are
 * ignored. Returns undefined when every tile is kept.
 */
export function blockTable(mask: BlockMask | undefined, nQB: number, nKB: number): Uint8Array | undefined {
  if (!mask) return undefined;
  const table = new Uint8Array(nQB * nKB);
  if (mask.kind === 'local') {
    for (let i = 0; i < nQB; i++) {
      for (let j = Math.max(0, i - mask.windowBlocks); j <= Math.min(nKB - 1, i + mask.windowBlocks); j++) table[i * nKB + j] = 1;
    }
  } else {
    for (const [i, j] of mask.pairs) if (i < nQB && j < nKB) table[i * nKB + j] = 1;
  }
  return table;
}
