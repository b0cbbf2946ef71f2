/**
 * Character-level tokenizer whose vocabulary is the set of characters (Unicode code points)
 * of a training text, sorted by code point so the same text always gives the same ids.
 *
 *   id 0 = pad, 1 = unk, then one id per character in code-point order
 *
 * `toJSON()` / `CharTokenizer.fromJSON()` store and restore it, e.g. inside a checkpoint.
 */
import { ConfigError, describeValue, z } from '@weft/core';
import { assertIdsInVocabulary, type Tokenizer, type TokenizerSpecials } from './tokenizer.js';

const SPECIAL_COUNT = 2;
const PAD = 0;
const UNK = 1;

/** Written by `decode` for the unk id. */
const REPLACEMENT_CHARACTER = '\uFFFD';

/** The JSON form of a CharTokenizer. */
export interface CharTokenizerJSON {
  kind: 'char';
  /** The vocabulary in id order, starting at id 2. */
  characters: string[];
}

const charTokenizerJSONSchema = z.strictObject({
  kind: z.literal('char'),
  characters: z.array(z.string()),
});

function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

export class CharTokenizer implements Tokenizer {
  readonly specials: TokenizerSpecials = { pad: PAD, unk: UNK };
  readonly vocabSize: number;
  /** The characters in id order (id = index + 2). */
  readonly characters: readonly string[];
  private readonly idOf: Map<string, number>;

  private constructor(characters: string[]) {
    this.characters = characters;
    this.vocabSize = characters.length + SPECIAL_COUNT;
    this.idOf = new Map(characters.map((c, i) => [c, i + SPECIAL_COUNT]));
  }

  /** The vocabulary of every character in `text`, in code-point order. */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(text)].sort(byCodePoint));
  }

  /** Restores a tokenizer saved with `toJSON()`; throws ConfigError on a malformed value. */
  static fromJSON(json: unknown): CharTokenizer {
    const parsed = charTokenizerJSONSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = ['tokenizer', ...issue.path.map(String)].join('.');
      throw new ConfigError(path, `${issue.message}. Expected the value of CharTokenizer.toJSON(): { kind: "char", characters: string[] }.`);
    }
    const { characters } = parsed.data;
    const seen = new Set<string>();
    characters.forEach((c, i) => {
      if ([...c].length !== 1) {
        throw new ConfigError(`tokenizer.characters[${i}]`, `must be exactly one character; got ${describeValue(c)}.`);
      }
      if (seen.has(c)) {
        throw new ConfigError(`tokenizer.characters[${i}]`, `${describeValue(c)} appears twice; each character may have only one id.`);
      }
      seen.add(c);
    });
    return new CharTokenizer([...characters]);
  }

  toJSON(): CharTokenizerJSON {
    return { kind: 'char', characters: [...this.characters] };
  }

  /** Characters missing from the vocabulary become the unk id. */
  encode(text: string): Int32Array {
    const chars = [...text];
    const ids = new Int32Array(chars.length);
    chars.forEach((c, i) => (ids[i] = this.idOf.get(c) ?? UNK));
    return ids;
  }

  /** Skips pad; writes unk as U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    assertIdsInVocabulary(ids, this.vocabSize, 'CharTokenizer');
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === PAD) continue;
      text += id === UNK ? REPLACEMENT_CHARACTER : this.characters[id - SPECIAL_COUNT];
    }
    return text;
  }
}
