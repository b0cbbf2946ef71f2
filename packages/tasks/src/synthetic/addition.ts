/**
 * Addition with digits written least-significant first: in that order each sum digit depends
 * only on digits already seen (and a carry), so a causal model can produce the sum left to
 * right (the reversed format of e.g. Lee et al., 2023, "Teaching Arithmetic to Small
 * Transformers", arXiv:2307.03381).
 *
 *   a + b = c, each number zero-padded and reversed:   57 + 68 = 125 with digits = 3 is
 *   7 5 0 + 8 6 0 = 5 2 1 0                            (answer = the digits of c)
 *
 * a and b are uniform in [0, 10^digits); c has digits + 1 digits.
 * Tokens: 0 pad, 1 '+', 2 '=', 3 + d for the digit d.   seqLen = 3 * digits + 2.
 */
import { z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const additionOptionsSchema = z.strictObject({
  /** Digits of each operand. */
  digits: z.number().int().min(1).max(15).default(3),
});
export type AdditionOptions = z.input<typeof additionOptionsSchema>;

const PLUS = 1;
const EQUALS = 2;
const FIRST_DIGIT = 3;

/** The `width` least-significant digits of `n`, least significant first, as token ids. */
function reversedDigits(n: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => FIRST_DIGIT + (Math.floor(n / 10 ** i) % 10));
}

export class AdditionTask extends SequenceTask<z.output<typeof additionOptionsSchema>> {
  readonly name = 'addition';
  readonly vocabSize = FIRST_DIGIT + 10;
  readonly seqLen: number;

  constructor(options: AdditionOptions = {}) {
    super(parseOptions(additionOptionsSchema, options, 'addition'));
    this.seqLen = 3 * this.options.digits + 2;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { digits } = this.options;
    const a = rng.int(10 ** digits);
    const b = rng.int(10 ** digits);
    const sum = reversedDigits(a + b, digits + 1);
    const tokens = [...reversedDigits(a, digits), PLUS, ...reversedDigits(b, digits), EQUALS, ...sum];
    return { tokens, answerPositions: sum.map((_, i) => 2 * digits + 2 + i) };
  }
}
