/**
 * Selective copy (Gu & Dao, "Mamba", 2023, arXiv:2312.00752, Sec. 3.1): a few data tokens
 * are scattered at random positions among noise tokens; after a separator the model writes
 * the data tokens in order, skipping the noise. Random spacing means a fixed-delay
 * (time-invariant) model cannot solve it: it must select by content.
 *
 *   . . a . . . b . c . . .  SEP  a b c          (answer = a b c; '.' is the noise token)
 *
 * Tokens: 0 pad, 1 noise, 2 separator, 3 .. symbols + 2 the data symbols.
 * seqLen = regionLength + count.
 */
import { ConfigError, z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const selectiveCopyOptionsSchema = z.strictObject({
  /** Length of the noisy region that hides the data tokens. */
  regionLength: z.number().int().min(1).default(64),
  /** How many data tokens are hidden in the region (and copied). */
  count: z.number().int().min(1).default(8),
  /** Size of the alphabet of data tokens. */
  symbols: z.number().int().min(1).default(8),
});
export type SelectiveCopyOptions = z.input<typeof selectiveCopyOptionsSchema>;

const NOISE = 1;
const SEPARATOR = 2;
const FIRST_SYMBOL = 3;

export class SelectiveCopyTask extends SequenceTask<z.output<typeof selectiveCopyOptionsSchema>> {
  readonly name = 'selective-copy';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(options: SelectiveCopyOptions = {}) {
    super(parseOptions(selectiveCopyOptionsSchema, options, 'selective-copy'));
    const { regionLength, count, symbols } = this.options;
    if (count > regionLength) {
      throw new ConfigError(
        'selective-copy.count',
        `${count} data tokens do not fit in a region of regionLength = ${regionLength}; make count <= regionLength.`,
      );
    }
    this.vocabSize = FIRST_SYMBOL + symbols;
    this.seqLen = regionLength + count;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { regionLength, count, symbols } = this.options;
    const region = new Array<number>(regionLength).fill(NOISE);
    const slots = rng
      .shuffle(Array.from({ length: regionLength }, (_, i) => i))
      .slice(0, count)
      .sort((a, b) => a - b);
    const data = slots.map(() => FIRST_SYMBOL + rng.int(symbols));
    slots.forEach((slot, i) => (region[slot] = data[i]));
    return {
      tokens: [...region, SEPARATOR, ...data],
      answerPositions: data.map((_, i) => regionLength + 1 + i),
    };
  }
}
