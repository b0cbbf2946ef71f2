/**
 * Byte-level tokenizer in the style of ByT5 (Xue et al., 2022, arXiv:2105.13626): the UTF-8
 * bytes of the text, shifted past three special ids.
 *
 *   id 0 = pad, 1 = eos, 2 = unk, byte b -> id b + 3     (vocabSize 259)
 *
 * Every string is representable, so `unk` is never produced by `encode`; it exists so that
 * models sharing ByT5's layout keep the same ids.
 */
import { assertIdsInVocabulary, type Tokenizer, type TokenizerSpecials } from './tokenizer.js';

const SPECIAL_COUNT = 3;

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 256 + SPECIAL_COUNT;
  readonly specials: TokenizerSpecials = { pad: 0, eos: 1, unk: 2 };

  private readonly encoder = new TextEncoder();
  /** Lenient: malformed UTF-8 (e.g. a sequence cut mid-character) becomes U+FFFD instead of throwing. */
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  encode(text: string): Int32Array {
    const bytes = this.encoder.encode(text);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i] + SPECIAL_COUNT;
    return ids;
  }

  /** Decodes the byte ids, skipping pad/eos/unk; invalid UTF-8 turns into U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    assertIdsInVocabulary(ids, this.vocabSize, 'ByteTokenizer');
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= SPECIAL_COUNT) bytes.push(ids[i] - SPECIAL_COUNT);
    }
    return this.decoder.decode(new Uint8Array(bytes));
  }
}
