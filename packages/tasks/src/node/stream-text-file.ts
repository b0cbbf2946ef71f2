/** Reading a text file too large to hold in memory, piece by piece. */
import { createReadStream } from 'node:fs';
import { ConfigError } from '@weft/core';

/**
 * Yields the text of the file at `path` in chunks of about `chunkBytes` bytes. A multi-byte
 * UTF-8 character cut by a chunk boundary is carried over whole to the next chunk, so joining
 * the chunks gives exactly the file's text.
 */
export function streamTextFile(path: string, chunkBytes = 1 << 20): AsyncGenerator<string> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
    throw new ConfigError('chunkBytes', `must be a positive integer number of bytes; got ${chunkBytes}. The default is 1048576 (1 MiB).`);
  }
  // chunkBytes is checked above, when streamTextFile is called, not at the first iteration.
  return decodeChunks(path, chunkBytes);
}

async function* decodeChunks(path: string, chunkBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) {
    const text = decoder.decode(chunk as Buffer, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}
