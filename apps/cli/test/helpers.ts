/** Test helpers: run `main` with captured output. */
import type { Progress } from '@weft/core';
import type { Io } from '../src/io.js';
import { main } from '../src/main.js';

export interface RunResult {
  code: number;
  out: string[];
  err: string[];
}

const silent: Progress = { start: () => ({ update: () => undefined, stop: () => undefined }) };

export async function runWeft(...argv: string[]): Promise<RunResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), progress: silent };
  const code = await main(argv, io);
  return { code, out, err };
}
