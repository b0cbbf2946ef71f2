/**
 * Copy: read a random sequence, then write it again after a separator. Solving it needs the
 * whole sequence in memory, so it probes how much a model can carry over a distance.
 *
 *   x1 x2 ... xn  SEP  x1 x2 ... xn          (answer = the second x1 ... xn)
 *
 * Tokens: 0 pad, 1 separator, 2 .. symbols + 1 the data symbols.   seqLen = 2n.
 */
import { z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const copyOptionsSchema = z.strictObject({
  /** n, the number of tokens to copy. */
  length: z.number().int().min(1).default(16),
  /** Size of the alphabet the tokens are drawn from. */
  symbols: z.number().int().min(1).default(8),
});
export type CopyOptions = z.input<typeof copyOptionsSchema>;

const SEPARATOR = 1;
const FIRST_SYMBOL = 2;

export class CopyTask extends SequenceTask<z.output<typeof copyOptionsSchema>> {
  readonly name = 'copy';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(options: CopyOptions = {}) {
    super(parseOptions(copyOptionsSchema, options, 'copy'));
    this.vocabSize = FIRST_SYMBOL + this.options.symbols;
    this.seqLen = 2 * this.options.length;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { length, symbols } = this.options;
    const data = Array.from({ length }, () => FIRST_SYMBOL + rng.int(symbols));
    return {
      tokens: [...data, SEPARATOR, ...data],
      answerPositions: data.map((_, i) => length + 1 + i),
    };
  }
}
