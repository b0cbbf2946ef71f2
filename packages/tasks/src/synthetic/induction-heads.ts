/**
 * Induction heads (Olsson et al., 2022, "In-context Learning and Induction Heads"; the
 * synthetic form of the H3 and Hyena papers): a random sequence contains a trigger token once,
 * followed by some token t. The sequence ends with the trigger again, and the answer is t,
 * the token that followed the trigger last time ("[A][B] ... [A] -> [B]").
 *
 *   x x x TRIG t x x x x ... x  TRIG  t          (answer = the final t)
 *
 * The trigger appears only at its two places; the other tokens are uniform symbols.
 * Tokens: 0 pad, 1 trigger, 2 .. symbols + 1 the symbols.   seqLen as given (>= 3).
 */
import { z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const inductionHeadsOptionsSchema = z.strictObject({
  /** L, the length of inputs and targets; the row is L + 1 tokens. */
  seqLen: z.number().int().min(3).default(64),
  /** Size of the alphabet of ordinary tokens. */
  symbols: z.number().int().min(1).default(16),
});
export type InductionHeadsOptions = z.input<typeof inductionHeadsOptionsSchema>;

const TRIGGER = 1;
const FIRST_SYMBOL = 2;

export class InductionHeadsTask extends SequenceTask<z.output<typeof inductionHeadsOptionsSchema>> {
  readonly name = 'induction-heads';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(options: InductionHeadsOptions = {}) {
    super(parseOptions(inductionHeadsOptionsSchema, options, 'induction-heads'));
    this.vocabSize = FIRST_SYMBOL + this.options.symbols;
    this.seqLen = this.options.seqLen;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { seqLen: L, symbols } = this.options;
    // The body is sequence positions 0 .. L-2; then the final trigger (L-1) and the answer (L).
    const body = Array.from({ length: L - 1 }, () => FIRST_SYMBOL + rng.int(symbols));
    const firstTrigger = rng.int(L - 2); // in [0, L-3], so the token after it is still in the body
    body[firstTrigger] = TRIGGER;
    return { tokens: [...body, TRIGGER, body[firstTrigger + 1]], answerPositions: [L] };
  }
}
