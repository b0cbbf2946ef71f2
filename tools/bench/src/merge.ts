/**
 * Combining runs: `--merge` keeps the rows (and PyTorch numbers) of the previous results file
 * of the same backend that this run did not re-measure, so suites (or kinds, or configs) can
 * be run one at a time and still produce one report. A run replaces whole groups — (suite,
 * kind, config) for train, (suite, kind, pass) for kernels, (suite, kind, mode) for decode,
 * (suite, kind) for reducers and memory — so a
 * shorter re-run of a sweep leaves no stale longer rows behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SUITES, type BenchResults, type BenchRow, type SuiteName } from './options.js';

function group(row: BenchRow): string {
  return `${row.suite}|${row.kind}|${row.shape.config ?? row.shape.pass ?? row.shape.mode ?? ''}|${row.shape.sweep ?? ''}`;
}

export function readResults(file: string): BenchResults | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
}

/** `current` plus `previous`'s rows of groups `current` did not measure, in suite order. */
export function mergeResults(
  previous: BenchResults | undefined,
  current: BenchResults,
  ran: readonly SuiteName[],
): BenchResults {
  if (!previous || previous.backend !== current.backend) return current;
  const measured = new Set(current.rows.map(group));
  const kept = previous.rows.filter((r) => !measured.has(group(r)));
  const order: readonly SuiteName[] = SUITES;
  const rows = [...kept, ...current.rows].sort(
    (a, b) => order.indexOf(a.suite) - order.indexOf(b.suite),
  );
  const keptKeys = new Set(kept.map((r) => r.key));
  const torchRows = Object.fromEntries(
    Object.entries(previous.torch.rows).filter(([key]) => keptKeys.has(key)),
  );
  const loads = [previous.load.start, current.load.start];
  // The report's load line shows the busiest start of the merged runs.
  return {
    ...current,
    rows,
    torch: {
      ...current.torch,
      // A run with nothing to compare keeps the earlier baseline's description.
      note: Object.keys(current.torch.rows).length ? current.torch.note : previous.torch.note,
      available: current.torch.available || previous.torch.available,
      rows: { ...torchRows, ...current.torch.rows },
    },
    load: { start: loads.reduce((a, b) => (b[0] > a[0] ? b : a)), end: current.load.end },
    notes: [...new Set([...previous.notes, ...current.notes])].concat(
      `${ran.join(', ')} ran at ${current.date} (load ${current.load.start.join(' / ')} at its start); other rows come from earlier runs.`,
    ),
  };
}
