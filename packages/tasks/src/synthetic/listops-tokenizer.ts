/**
 * The ListOps vocabulary: one token per operator, the closing bracket, the ten digits, and the
 * '=' that asks for the answer in the causal-LM form of the task.
 *
 *   0 <pad>  1 <unk>  2 =  3 [MAX  4 [MIN  5 [MED  6 [SM  7 ]  8..17 the digits 0..9
 *
 * Text is tokens separated by whitespace: '[MAX 2 9 ] = 9'.
 */
import { assertIdsInVocabulary, type Tokenizer, type TokenizerSpecials } from '../tokenizers/tokenizer.js';
import { LISTOPS_CLOSE, LISTOPS_OPERATORS } from './listops-expression.js';

export const LISTOPS_ANSWER_MARK = '=';

const PAD = 0;
const UNK = 1;

export class ListOpsTokenizer implements Tokenizer {
  /** The token of each id. */
  readonly vocabulary: readonly string[] = [
    '<pad>',
    '<unk>',
    LISTOPS_ANSWER_MARK,
    ...LISTOPS_OPERATORS.map((op) => `[${op}`),
    LISTOPS_CLOSE,
    ...Array.from({ length: 10 }, (_, digit) => String(digit)),
  ];
  readonly vocabSize = this.vocabulary.length;
  readonly specials: TokenizerSpecials = { pad: PAD, unk: UNK };
  private readonly ids = new Map(this.vocabulary.map((token, id) => [token, id]));

  /** The id of one token ('[MAX', ']', '7', '='), or the unk id. */
  idOf(token: string): number {
    return this.ids.get(token) ?? UNK;
  }

  encode(text: string): Int32Array {
    return Int32Array.from(text.split(/\s+/).filter(Boolean), (token) => this.idOf(token));
  }

  /** Tokens joined by spaces; pad and unk are skipped. */
  decode(ids: ArrayLike<number>): string {
    assertIdsInVocabulary(ids, this.vocabSize, 'ListOpsTokenizer');
    return Array.from(ids)
      .filter((id) => id !== PAD && id !== UNK)
      .map((id) => this.vocabulary[id])
      .join(' ');
  }
}
