/**
 * Passkey retrieval (Mohtashami & Jaggi, "Landmark Attention", 2023, arXiv:2305.16300): a
 * random number is stated once somewhere inside long, repetitive filler text; at the end a
 * question asks for it and the model must write its digits. It checks that a model can use
 * any position of a long context, at every depth.
 *
 *   <intro> <filler ...> The passkey is 48213. <filler ...> <question> 48213
 *                                                                       ^ answer
 *
 * The text is byte-tokenized (ByteTokenizer: byte b -> id b + 3), so vocabSize = 259 and
 * the model reads the passkey digit by digit. The filler fills the row to exactly seqLen + 1
 * bytes; the passkey sentence goes between two filler sentences, at a uniformly random
 * sentence boundary or, with `depth`, at the boundary nearest that fraction of the filler.
 */
import { ConfigError, z, type Rng } from '@weft/core';
import { ByteTokenizer } from '../tokenizers/byte-tokenizer.js';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const passkeyOptionsSchema = z.strictObject({
  /** L, the length of inputs and targets in bytes. */
  seqLen: z.number().int().min(1).default(256),
  /** Digits of the passkey (its first digit is never 0). */
  digits: z.number().int().min(1).max(15).default(5),
  /** Where the passkey goes, as a fraction of the filler (0 = start, 1 = end); random when omitted. */
  depth: z.number().min(0).max(1).optional(),
});
export type PasskeyOptions = z.input<typeof passkeyOptionsSchema>;

const INTRO = 'A secret number is hidden in the text below. Find it and keep it in mind.\n';
const FILLER_SENTENCES = [
  'The river runs past the old mill. ',
  'Birds sing in the tall trees. ',
  'A cart rolls slowly down the road. ',
  'Rain falls on the quiet town. ',
];
const QUESTION = '\nWhat is the secret number? The secret number is ';
const passkeySentence = (passkey: string) => `The passkey is ${passkey}. `;

export class PasskeyTask extends SequenceTask<z.output<typeof passkeyOptionsSchema>> {
  readonly name = 'passkey';
  readonly tokenizer = new ByteTokenizer();
  readonly vocabSize = this.tokenizer.vocabSize;
  readonly seqLen: number;

  constructor(options: PasskeyOptions = {}) {
    super(parseOptions(passkeyOptionsSchema, options, 'passkey'));
    const { seqLen, digits } = this.options;
    const needed = this.fixedLength(digits) - 1;
    if (seqLen < needed) {
      throw new ConfigError(
        'passkey.seqLen',
        `${seqLen} bytes cannot hold the prompt, the passkey sentence and a ${digits}-digit answer (${needed} bytes before any filler); use seqLen >= ${needed}, e.g. 256.`,
      );
    }
    this.seqLen = seqLen;
  }

  /** Bytes of a row that are not filler. The text is ASCII, so characters are bytes. */
  private fixedLength(digits: number): number {
    return INTRO.length + passkeySentence('0'.repeat(digits)).length + QUESTION.length + digits;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { seqLen, digits, depth } = this.options;
    const passkey = String(10 ** (digits - 1) + rng.int(9 * 10 ** (digits - 1)));

    // Filler sentences in turn, the last one cut so the row is exactly seqLen + 1 bytes.
    const fillerLength = seqLen + 1 - this.fixedLength(digits);
    let filler = '';
    const boundaries = [0];
    for (let i = 0; filler.length < fillerLength; i++) {
      filler += FILLER_SENTENCES[i % FILLER_SENTENCES.length];
      boundaries.push(Math.min(filler.length, fillerLength));
    }
    filler = filler.slice(0, fillerLength);

    const insertAt =
      depth === undefined
        ? boundaries[rng.int(boundaries.length)]
        : boundaries.reduce((best, b) => (Math.abs(b - depth * fillerLength) < Math.abs(best - depth * fillerLength) ? b : best));
    const text = INTRO + filler.slice(0, insertAt) + passkeySentence(passkey) + filler.slice(insertAt) + QUESTION + passkey;
    const tokens = Array.from(this.tokenizer.encode(text));
    return { tokens, answerPositions: Array.from({ length: digits }, (_, i) => tokens.length - digits + i) };
  }
}
