/**
 * Each training variant of the `train` suite runs in its own Node process (options.isolateTrain):
 * when a variant aborts the wasm heap ("memory access out of bounds", an Emscripten abort),
 * the process it ran in is unusable, and in-process that cost every later row. A child costs
 * a second or two of start-up per variant and keeps the failure to that one row.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@weft/core';

/** What the child measures (names only: the child rebuilds the registry and the config). */
export interface TrainChildRequest {
  backend: BackendName;
  threads: number;
  config: string;
  slot: 'attention' | 'mixer';
  kind: string;
  steps: number;
}

/** The child prints its result as one line starting with this marker. */
export const RESULT_MARKER = 'weft-bench-train-result ';

export type TrainChildResult =
  { ms: number; tokensPerSec: number; steps: number; leakedTensors: number } | { error: string };

/** The command that runs train-child in the way this module itself runs (source via tsx, or dist). */
function childCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  const fromSource = self.endsWith('.ts');
  const entry = path.join(path.dirname(self), fromSource ? 'train-child.ts' : 'train-child.js');
  if (!fromSource) return [entry];
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return ['--conditions=source', '--import', tsx, entry];
}

export function runTrainChild(request: TrainChildRequest): TrainChildResult {
  const run = spawnSync(process.execPath, [...childCommand(), JSON.stringify(request)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = run.stdout?.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (line) return JSON.parse(line.slice(RESULT_MARKER.length)) as TrainChildResult;
  const lastError = (run.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at '))
    .slice(-1)[0];
  const how = run.signal ? `killed by ${run.signal}` : `exited with code ${run.status}`;
  return {
    error: `the variant's process ${how}${lastError ? `: ${lastError.slice(0, 200)}` : ''}`,
  };
}
