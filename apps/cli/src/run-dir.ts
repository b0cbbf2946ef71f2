/** Run folders: runs/<YYYY-MM-DD-HHMMSS>/ in local time, or the one --out names. */
import { join } from 'node:path';

const pad = (n: number) => String(n).padStart(2, '0');

export function runDirName(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export function defaultRunDir(date: Date, root = 'runs'): string {
  return join(root, runDirName(date));
}

/** Files the CLI writes into a run folder (checkpoints/ and metrics.jsonl come from @weft/train). */
export const RUN_CONFIG_FILE = 'config.json';
export const LOSS_CURVE_FILE = 'loss-curve.svg';
export const METRICS_FILE = 'metrics.jsonl';
