/**
 * The contract every Weft tokenizer follows: text in, integer ids out, and back.
 */

/** Ids of the special tokens a tokenizer reserves. `eos` exists only where the tokenizer has one. */
export interface TokenizerSpecials {
  /** Fills positions that carry no token (batch padding). */
  readonly pad: number;
  /** Stands for input the vocabulary cannot represent. */
  readonly unk: number;
  /** Marks the end of a sequence. */
  readonly eos?: number;
}

export interface Tokenizer {
  /** Number of distinct ids; every id is in [0, vocabSize). */
  readonly vocabSize: number;
  readonly specials: TokenizerSpecials;
  encode(text: string): Int32Array;
  /** Text for `ids`; special tokens are not written out. */
  decode(ids: ArrayLike<number>): string;
}

/** Throws a RangeError naming the position and value of the first id outside [0, vocabSize). */
export function assertIdsInVocabulary(ids: ArrayLike<number>, vocabSize: number, tokenizerName: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(
        `${tokenizerName}.decode: id ${id} at position ${i} is outside the vocabulary [0, ${vocabSize}); ` +
          'pass ids produced by this tokenizer or by a model with the same vocabSize.',
      );
    }
  }
}
