/** A deterministic validation pass over a token array. */
import { ConfigError, z, type Batch } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { TextDataset } from './text-dataset.js';

export const evalBatchesOptionsSchema = z.strictObject({
  batchSize: z.number().int().positive(),
  seqLen: z.number().int().positive(),
  /** Stop after this many batches (all windows when omitted). */
  maxBatches: z.number().int().positive().optional(),
});
export type EvalBatchesOptions = z.input<typeof evalBatchesOptionsSchema>;

/**
 * Yields the contiguous, non-overlapping windows of `tokens` in order (see TextDataset),
 * `batchSize` at a time; the last batch holds the remaining windows and may be smaller.
 * The batches are created lazily; the caller disposes each one.
 */
export function evalBatches(tokens: Int32Array, options: EvalBatchesOptions): Generator<Batch> {
  const { batchSize, seqLen, maxBatches } = parseOptions(evalBatchesOptionsSchema, options, 'evalBatches');
  if (tokens.length < seqLen + 1) {
    throw new ConfigError(
      'evalBatches.seqLen',
      `a window needs seqLen + 1 = ${seqLen + 1} tokens but the validation text has only ${tokens.length}; use a shorter seqLen or a larger validation split.`,
    );
  }
  const dataset = new TextDataset(tokens, seqLen);
  const batchCount = Math.min(Math.ceil(dataset.windowCount / batchSize), maxBatches ?? Infinity);
  // Options are checked above, when evalBatches is called, not at the first iteration.
  return batchesOf(dataset, batchSize, batchCount);
}

function* batchesOf(dataset: TextDataset, batchSize: number, batchCount: number): Generator<Batch> {
  const { seqLen } = dataset;
  for (let b = 0; b < batchCount; b++) {
    const first = b * batchSize;
    const last = Math.min(first + batchSize, dataset.windowCount);
    const starts = Array.from({ length: last - first }, (_, i) => (first + i) * seqLen);
    yield dataset.batchAt(starts);
  }
}
