import { ConfigError } from '@weft/core';
import { ByteTokenizer, CharTokenizer } from '@weft/tasks';

describe('ByteTokenizer', () => {
  const tokenizer = new ByteTokenizer();

  it('has ByT5 ids: 0 pad, 1 eos, 2 unk, byte b -> b + 3', () => {
    expect(tokenizer.vocabSize).toBe(259);
    expect(tokenizer.specials).toEqual({ pad: 0, eos: 1, unk: 2 });
    // 'A' = 0x41 = 65, 'z' = 122, ' ' = 32
    expect(Array.from(tokenizer.encode('A z'))).toEqual([68, 35, 125]);
  });

  it('round-trips ASCII', () => {
    const text = 'Hello, world! 123\n\tTabs and "quotes".';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('encodes multi-byte UTF-8 as its bytes and round-trips it', () => {
    // é = C3 A9, € = E2 82 AC, 😀 = F0 9F 98 80
    expect(Array.from(tokenizer.encode('é€😀'))).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80].map((b) => b + 3));
    const text = 'naïve café, 日本語, emoji 😀 and ∑';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('skips special ids when decoding', () => {
    const ids = [0, 'h'.charCodeAt(0) + 3, 1, 'i'.charCodeAt(0) + 3, 2, 0];
    expect(tokenizer.decode(ids)).toBe('hi');
  });

  it('decodes malformed UTF-8 leniently, as U+FFFD', () => {
    // é cut after its first byte, then 'a'
    expect(tokenizer.decode([0xc3 + 3, 'a'.charCodeAt(0) + 3])).toBe('\uFFFDa');
  });

  it('rejects ids outside the vocabulary, naming the id and position', () => {
    expect(() => tokenizer.decode([70, 259])).toThrow(/id 259 at position 1 .*\[0, 259\)/);
  });
});

describe('CharTokenizer', () => {
  it('builds a sorted vocabulary after pad and unk', () => {
    const tokenizer = CharTokenizer.fromText('banana band');
    // code points: ' ' 32 < 'a' 97 < 'b' 98 < 'd' 100 < 'n' 110
    expect(tokenizer.characters).toEqual([' ', 'a', 'b', 'd', 'n']);
    expect(tokenizer.vocabSize).toBe(7);
    expect(tokenizer.specials).toEqual({ pad: 0, unk: 1 });
    expect(Array.from(tokenizer.encode('band'))).toEqual([4, 3, 6, 5]);
  });

  it('gives the same vocabulary for the same characters in any order', () => {
    expect(CharTokenizer.fromText('cab').characters).toEqual(CharTokenizer.fromText('bca').characters);
  });

  it('treats astral characters as one character and sorts by code point', () => {
    // U+1F600 is above U+FF01 though its first UTF-16 unit (D83D) sorts below FF01
    const tokenizer = CharTokenizer.fromText('😀！a');
    expect(tokenizer.characters).toEqual(['a', '！', '😀']);
    expect(tokenizer.encode('😀').length).toBe(1);
  });

  it('round-trips text of its own characters, including multi-byte ones', () => {
    const text = 'Grüße, 世界! 😀';
    const tokenizer = CharTokenizer.fromText(text);
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('maps unknown characters to unk, decodes unk as U+FFFD and skips pad', () => {
    const tokenizer = CharTokenizer.fromText('ab');
    expect(Array.from(tokenizer.encode('axb'))).toEqual([2, 1, 3]);
    expect(tokenizer.decode([0, 2, 1, 3, 0])).toBe('a\uFFFDb');
  });

  it('survives toJSON / fromJSON through a JSON string', () => {
    const tokenizer = CharTokenizer.fromText('hello, world');
    const restored = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tokenizer.toJSON())));
    expect(restored.characters).toEqual(tokenizer.characters);
    expect(Array.from(restored.encode('low'))).toEqual(Array.from(tokenizer.encode('low')));
  });

  it('rejects malformed JSON with the field and the fix', () => {
    expect(() => CharTokenizer.fromJSON({ kind: 'byte', characters: [] })).toThrow(ConfigError);
    expect(() => CharTokenizer.fromJSON({ kind: 'byte', characters: [] })).toThrow(/tokenizer\.kind/);
    expect(() => CharTokenizer.fromJSON({ kind: 'char', characters: ['a', 'bc'] })).toThrow(/tokenizer\.characters\[1\].*exactly one character/);
    expect(() => CharTokenizer.fromJSON({ kind: 'char', characters: ['a', 'a'] })).toThrow(/characters\[1\].*appears twice/);
  });
});
