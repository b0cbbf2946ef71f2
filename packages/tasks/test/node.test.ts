import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@weft/core';
import { loadBrownCorpus, loadTextFiles, streamTextFile } from '@weft/tasks/node';

describe('loadTextFiles', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-tasks-'));
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, 'b.txt'), 'second');
    writeFileSync(join(dir, 'a.md'), 'first');
    writeFileSync(join(dir, 'sub', 'c.txt'), 'third');
    writeFileSync(join(dir, '.hidden', 'd.txt'), 'hidden');
    writeFileSync(join(dir, 'image.bin'), Buffer.from([0x89, 0x50, 0x00, 0xff]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads one file', async () => {
    expect(await loadTextFiles(join(dir, 'b.txt'))).toBe('second');
  });

  it('reads every text file of a directory tree in sorted order, skipping binary and hidden files', async () => {
    expect(await loadTextFiles(dir)).toBe('first\nsecond\nthird');
  });

  it('filters by extension and joins with the separator', async () => {
    expect(await loadTextFiles(dir, { extensions: ['.txt'], separator: '|' })).toBe('second|third');
  });

  it('names the missing path', async () => {
    await expect(loadTextFiles(join(dir, 'nope'))).rejects.toThrow(ConfigError);
    await expect(loadTextFiles(join(dir, 'nope'))).rejects.toThrow(/no file or directory at ".*nope"/);
    await expect(loadTextFiles(dir, { extensions: ['.csv'] })).rejects.toThrow(/no files with extension \.csv/);
  });
});

describe('streamTextFile', () => {
  it('yields chunks that join to the file text, never splitting a character', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-stream-'));
    const text = 'aé€😀'.repeat(50); // 1 + 2 + 3 + 4 bytes per repeat
    writeFileSync(join(dir, 'big.txt'), text);
    const chunks: string[] = [];
    for await (const chunk of streamTextFile(join(dir, 'big.txt'), 7)) chunks.push(chunk);
    rmSync(dir, { recursive: true, force: true });
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks) expect(chunk).not.toContain('\uFFFD');
  });

  it('refuses a bad chunk size when called', () => {
    expect(() => streamTextFile('x', 0)).toThrow(/chunkBytes: must be a positive integer number of bytes; got 0/);
  });
});

describe('loadBrownCorpus', () => {
  let text: string;
  beforeAll(async () => {
    text = await loadBrownCorpus();
  });

  it('is over a megabyte of English', () => {
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(5_000_000);
    expect(text).toContain(' the ');
    expect(text.split(' the ').length).toBeGreaterThan(50_000);
  });

  it('starts with the first sentence of sample ca01, untagged', () => {
    expect(text.split('\n')[0]).toBe(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    );
  });

  it('has no part-of-speech tag left', () => {
    // (Slashes stay where the text has them, as in "and/or" or "Btu/sq. ft./hr." or the phoneme /r/.)
    expect(text).not.toMatch(/[A-Za-z]\/(at|nn|nns|np|in|jj|vbd|vbn|rb|cc|cs|pps|nn-tl|np-tl)(\s|$)/m);
    // The quote tokens `` and '' became "; a '' inside a word (12'' for inches) is the author's.
    expect(text).not.toMatch(/(^|\s)(``|'')(\s|$)/m);
    expect(text).not.toContain(' ,');
    expect(text).not.toContain(' .');
    expect(text).not.toMatch(/[;?]{2}/);
  });
});
