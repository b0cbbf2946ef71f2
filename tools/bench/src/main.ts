/**
 * The `weft-bench` command: parse arguments, run, print a summary (or the JSON with --json).
 * Returns the exit code. BENCHMARKS.md defaults to the repository root's.
 */
import 'reflect-metadata'; // tsyringe (inside @weft/core) needs it once, at the entry
import path from 'node:path';
import { parseArgs, USAGE } from './args.js';
import { BENCH_ROOT, runBench } from './run-bench.js';

export const REPO_ROOT = path.resolve(BENCH_ROOT, '..', '..');

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`weft-bench: ${(error as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const options = { ...parsed.options };
  if (parsed.noMarkdown) delete options.markdownPath;
  else options.markdownPath ??= path.join(REPO_ROOT, 'BENCHMARKS.md');
  const results = await runBench(parsed.suite, options);
  if (parsed.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  const failed = results.rows.filter((r) => r.status === 'failed').length;
  process.stderr.write(
    `weft-bench: ${results.rows.length} rows (${failed} failed) on ${results.backend}; ${results.torch.note}\n`,
  );
  return 0;
}
