import { ConfigError, Rng } from '@weft/core';
import {
  ListOpsTokenizer,
  evaluateListOps,
  formatListOps,
  generateListOps,
  maxListOpsTokens,
  parseListOps,
  type ListOpsExpression,
} from '@weft/tasks';

describe('ListOps evaluator', () => {
  it.each([
    // expression, value worked out by hand
    ['[MAX 2 9 [MIN 4 7 ] 0 ]', 9], // max(2, 9, 4, 0)
    ['[MIN 5 [MAX 1 8 ] 6 ]', 5], // min(5, 8, 6)
    ['[MED 1 5 2 ]', 2], // sorted 1 2 5
    ['[MED 1 2 3 4 ]', 2], // (2 + 3) / 2 = 2.5, rounded down
    ['[MED 9 8 ]', 8], // 8.5 rounded down
    ['[SM 3 8 [MED 1 5 2 ] ]', 3], // 3 + 8 + 2 = 13 -> 3
    ['[SM 9 9 9 9 ]', 6], // 36 -> 6
    ['[MAX [SM 7 6 ] [MIN 8 [MED 4 6 9 ] ] 1 ]', 6], // max(13 % 10 = 3, min(8, 6) = 6, 1)
    ['7', 7],
  ])('%s = %i', (text, value) => {
    expect(evaluateListOps(parseListOps(text))).toBe(value);
  });

  it('formats what it parses back to the same text', () => {
    const text = '[MAX [SM 7 6 ] [MIN 8 [MED 4 6 9 ] ] 1 ]';
    expect(formatListOps(parseListOps(text))).toBe(text);
    expect(parseListOps('[SM 1 2 ]')).toEqual({ operator: 'SM', args: [1, 2] });
  });

  it('names what is wrong with a malformed expression', () => {
    expect(() => parseListOps('[MAX 1 2')).toThrow(ConfigError);
    expect(() => parseListOps('[MAX 1 2')).toThrow(/expression: the expression ends early/);
    expect(() => parseListOps('[AVG 1 2 ]')).toThrow(/"\[AVG" is neither a digit nor one of/);
    expect(() => parseListOps('[MIN 1 ]')).toThrow(/\[MIN needs at least two arguments/);
    expect(() => parseListOps('[MIN 1 2 ] 3')).toThrow(/unexpected "3" after the end/);
    expect(() => parseListOps('[MAX 12 3 ]')).toThrow(/"12" is neither a digit/);
  });
});

describe('ListOps generator', () => {
  const depthOf = (e: ListOpsExpression): number => (typeof e === 'number' ? 0 : 1 + Math.max(...e.args.map(depthOf)));
  const widest = (e: ListOpsExpression): number => (typeof e === 'number' ? 0 : Math.max(e.args.length, ...e.args.map(widest)));

  it('stays within maxDepth and maxArgs, with an operator outside', () => {
    const rng = new Rng(4);
    const depths = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const e = generateListOps(rng, { maxDepth: 3, maxArgs: 4, maxTokens: 10_000 })!;
      expect(typeof e).toBe('object');
      expect(depthOf(e)).toBeLessThanOrEqual(3);
      expect(widest(e)).toBeLessThanOrEqual(4);
      depths.add(depthOf(e));
    }
    expect(depths).toEqual(new Set([1, 2, 3]));
  });

  it('gives up past maxTokens', () => {
    const rng = new Rng(4);
    for (let i = 0; i < 50; i++) {
      const e = generateListOps(rng, { maxDepth: 5, maxArgs: 6, maxTokens: 8 });
      if (e !== undefined) expect(formatListOps(e).split(' ').length).toBeLessThanOrEqual(8);
    }
  });

  it('knows the longest possible expression', () => {
    // depth 1: [OP d d ] = 2 + 2 * 1 = 4; depth 2: 2 + 2 * 4 = 10
    expect(maxListOpsTokens(1, 2)).toBe(4);
    expect(maxListOpsTokens(2, 2)).toBe(10);
  });
});

describe('ListOpsTokenizer', () => {
  const tokenizer = new ListOpsTokenizer();

  it('has one id per operator, bracket, digit and the answer mark', () => {
    expect(tokenizer.vocabSize).toBe(18);
    expect(Array.from(tokenizer.encode('[MAX 2 9 ] = 9'))).toEqual([3, 10, 17, 7, 2, 17]);
    expect(Array.from(tokenizer.encode('[AVG 1'))).toEqual([1, 9]);
  });

  it('round-trips and skips pad and unk', () => {
    expect(tokenizer.decode(tokenizer.encode('[SM 3 [MED 1 2 ] ] = 5'))).toBe('[SM 3 [MED 1 2 ] ] = 5');
    expect(tokenizer.decode([0, 4, 1, 8, 9, 7, 0])).toBe('[MIN 0 1 ]');
  });
});
