/** Reading a JSON file with errors that say which file, and where in it, is wrong. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@weft/core';

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Parse `text` (from `source`, for messages) as JSON; a syntax error names the line and column. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const position = /at position (\d+)/.exec(message);
    const explicit = /\(line (\d+) column (\d+)\)/.exec(message);
    let where = '';
    if (explicit) where = ` at line ${explicit[1]}, column ${explicit[2]}`;
    else if (position) {
      const { line, column } = lineColumn(text, Number(position[1]));
      where = ` at line ${line}, column ${column}`;
    } else if (/end of JSON input/.test(message)) {
      const { line, column } = lineColumn(text, text.length);
      where = ` at line ${line}, column ${column} (the file ends too early)`;
    }
    const reason = message.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)/, '').replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError('', `${source} is not valid JSON${where}: ${reason}. (JSON allows no comments or trailing commas.)`);
  }
}

/** Read and parse a JSON file; a missing file is a ConfigError naming the path. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code ?? (cause as Error).message})`;
    throw new ConfigError('', `The ${what} ${path} ${reason}. Check the path (relative paths start at ${process.cwd()}).`);
  }
  return parseJson(text, path);
}
