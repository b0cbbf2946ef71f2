/** Where `weft train --resume [DIR]` continues from. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './errors.js';

/**
 * `--resume DIR` -> DIR; `--resume` alone -> --out if given, else the newest folder in runs/
 * (run folder names sort by time).
 */
export function resolveResumeDir(resume: string | true, out: string | undefined, runsRoot = 'runs'): string {
  if (typeof resume === 'string') return resume;
  if (out) return out;
  const runs = existsSync(runsRoot)
    ? readdirSync(runsRoot).filter((name) => !name.startsWith('.') && statSync(join(runsRoot, name)).isDirectory()).sort()
    : [];
  if (!runs.length) throw new UsageError(`--resume found no run folder in ${runsRoot}/; name one: --resume runs/<run>.`);
  return join(runsRoot, runs[runs.length - 1]);
}
