/** Reading training text from a file or a directory tree. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { ConfigError } from '@weft/core';

export interface LoadTextFilesOptions {
  /**
   * Only read files with these extensions (e.g. ['.txt', '.md']). When omitted, every file
   * that looks like text is read: valid UTF-8 with no NUL byte.
   */
  extensions?: string[];
  /** Written between the contents of two files. Default '\n'. */
  separator?: string;
}

function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Every file under `directory`, recursively, skipping hidden entries; sorted by path. */
async function listFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  // Plain code-unit order, so the result does not depend on the machine's locale.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The text of one file, or of every text file under a directory (recursively, in sorted path
 * order, hidden files skipped) joined by `separator`.
 */
export async function loadTextFiles(pathOrDirectory: string, options: LoadTextFilesOptions = {}): Promise<string> {
  const { extensions, separator = '\n' } = options;
  const info = await stat(pathOrDirectory).catch(() => undefined);
  if (!info) {
    throw new ConfigError('path', `no file or directory at "${pathOrDirectory}"; check the path (relative paths start at ${process.cwd()}).`);
  }
  if (info.isFile()) return readFile(pathOrDirectory, 'utf8');

  const texts: string[] = [];
  for (const file of await listFiles(pathOrDirectory)) {
    if (extensions && !extensions.includes(extname(file))) continue;
    const bytes = await readFile(file);
    if (!extensions && !looksLikeText(bytes)) continue;
    texts.push(new TextDecoder('utf-8').decode(bytes));
  }
  if (texts.length === 0) {
    const which = extensions ? `with extension ${extensions.join(', ')}` : 'of text (UTF-8 without NUL bytes)';
    throw new ConfigError('path', `the directory "${pathOrDirectory}" holds no files ${which}; point it at a folder of text files.`);
  }
  return texts.join(separator);
}
