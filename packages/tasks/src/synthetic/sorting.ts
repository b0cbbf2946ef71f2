/**
 * Sorting: read a sequence of integers, then write them in ascending order after a separator
 * (repeats allowed, and kept).
 *
 *   v1 v2 ... vn  SEP  sort(v)1 ... sort(v)n      (answer = the sorted values)
 *
 * Tokens: 0 pad, 1 separator, 2 + v for the integer v in [0, values).   seqLen = 2n.
 */
import { z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const sortingOptionsSchema = z.strictObject({
  /** n, how many integers to sort. */
  length: z.number().int().min(1).default(16),
  /** The integers are drawn uniformly from [0, values). */
  values: z.number().int().min(1).default(32),
});
export type SortingOptions = z.input<typeof sortingOptionsSchema>;

const SEPARATOR = 1;
const FIRST_VALUE = 2;

export class SortingTask extends SequenceTask<z.output<typeof sortingOptionsSchema>> {
  readonly name = 'sorting';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(options: SortingOptions = {}) {
    super(parseOptions(sortingOptionsSchema, options, 'sorting'));
    this.vocabSize = FIRST_VALUE + this.options.values;
    this.seqLen = 2 * this.options.length;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { length, values } = this.options;
    const unsorted = Array.from({ length }, () => FIRST_VALUE + rng.int(values));
    const sorted = [...unsorted].sort((a, b) => a - b);
    return {
      tokens: [...unsorted, SEPARATOR, ...sorted],
      answerPositions: sorted.map((_, i) => length + 1 + i),
    };
  }
}
