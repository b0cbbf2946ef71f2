/**
 * runBench(suite, options): start the backend, load the benchmark plugins, run the suites,
 * run the PyTorch baseline on the same shapes, and write results.json (+ BENCHMARKS.md and
 * SVG plots when `markdownPath` is set). Returns the results document.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackend } from './backend.js';
import { loadAverage, machineInfo } from './environment.js';
import {
  DEFAULT_OPTIONS,
  SUITES,
  type BenchOptions,
  type BenchResults,
  type BenchRow,
  type SuiteName,
  type SuiteSelection,
} from './options.js';
import { mergeResults, readResults } from './merge.js';
import { benchRegistry } from './plugins.js';
import { renderMarkdown } from './report/markdown.js';
import { reportPlots } from './report/plots.js';
import { decodeSuite } from './suites/decode.js';
import { kernelsSuite } from './suites/kernels.js';
import { memorySuite } from './suites/memory.js';
import { reducersSuite } from './suites/reducers.js';
import { trainSuite } from './suites/train.js';
import { attachRatios, runTorchBaseline, torchTasks } from './torch.js';

const RUNNERS = {
  kernels: kernelsSuite,
  train: trainSuite,
  decode: decodeSuite,
  reducers: reducersSuite,
  memory: memorySuite,
} as const;

/** The bench package's folder (src/ or dist/ is one level below). */
export const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function suitesOf(selection: SuiteSelection): SuiteName[] {
  if (selection === 'all') return [...SUITES];
  if (!SUITES.includes(selection))
    throw new Error(
      `Unknown benchmark suite "${selection}" (choose one of ${[...SUITES, 'all'].join(', ')}).`,
    );
  return [selection];
}

/** docs/bench next to BENCHMARKS.md when that folder has a docs/, else tools/bench/results. */
export function defaultPlotDir(markdownPath: string): string {
  const docs = path.join(path.dirname(markdownPath), 'docs');
  return existsSync(docs) ? path.join(docs, 'bench') : path.join(BENCH_ROOT, 'results');
}

export async function runBench(
  suite: SuiteSelection,
  partial: Partial<BenchOptions> = {},
): Promise<BenchResults> {
  const options: BenchOptions = { ...DEFAULT_OPTIONS, ...partial };
  const suites = suitesOf(suite);
  if (options.torchOnly) return rerunTorchBaseline(suites, options);
  const loadStart = loadAverage();
  const backend = await startBackend(options.backend, options.threads);
  const notes: string[] = [];
  const { log: _log, checkpoint: _checkpoint, ...recorded } = options;
  const results: BenchResults = {
    date: new Date().toISOString(),
    backend: backend.name,
    threads: backend.threads,
    machine: machineInfo(),
    load: { start: loadStart, end: loadStart },
    options: recorded,
    plugins: [],
    rows: [],
    torch: { available: false, note: 'not run', rows: {} },
    notes,
  };
  if (!backend.ok) {
    notes.push(`Skipped: ${backend.note}`);
    options.log(`weft-bench: ${backend.note}`);
    return finish(results, options);
  }
  const { registry, plugins } = await benchRegistry();
  results.plugins = plugins;
  for (const p of plugins)
    if (p.status === 'failed') options.log(`weft-bench: ${p.name} not loaded (${p.note})`);
  const rows: BenchRow[] = [];
  const partialPath = path.join(options.outDir, `results-${backend.name}.partial.json`);
  mkdirSync(options.outDir, { recursive: true });
  for (const name of suites) {
    options.log(`weft-bench: suite ${name} on ${backend.name}`);
    const checkpoint = (suiteRows: readonly BenchRow[]) =>
      writeFileSync(
        partialPath,
        JSON.stringify({ ...results, rows: [...rows, ...suiteRows] }, null, 2) + '\n',
      );
    rows.push(...(await RUNNERS[name](registry, { ...options, checkpoint })));
  }
  rmSync(partialPath, { force: true });
  results.rows = rows;
  options.log('weft-bench: PyTorch baseline');
  results.torch = runTorchBaseline(
    options.python,
    torchTasks(rows),
    options.memoryBudget,
    options.threads,
  );
  attachRatios(rows, results.torch);
  results.load.end = loadAverage();
  if (!options.merge) return finish(results, options);
  const merged = mergeResults(readResults(resultsPath(options.outDir, results.backend)), results, suites);
  // Kept rows share keys with this run's baseline (e.g. every train kind of a config): every
  // ratio is taken against the merged baseline, so one report never mixes two baselines.
  attachRatios(merged.rows, merged.torch);
  return finish(merged, options);
}

/**
 * `--torch-only`: the previous results file of this backend with the PyTorch baseline re-run
 * for its rows of `suites` (other rows keep their baseline numbers) and their ratios recomputed.
 */
function rerunTorchBaseline(suites: readonly SuiteName[], options: BenchOptions): BenchResults {
  const file = resultsPath(options.outDir, options.backend);
  const previous = readResults(file);
  if (!previous)
    throw new Error(
      `--torch-only re-runs the baseline of an existing results file, but ${file} does not exist. Run the suites first (or point --out at the folder that has it).`,
    );
  const rows = previous.rows.filter((r) => suites.includes(r.suite));
  options.log(`weft-bench: PyTorch baseline only, for ${rows.length} rows of ${suites.join(', ')}`);
  const torch = runTorchBaseline(
    options.python,
    torchTasks(rows),
    options.memoryBudget,
    previous.threads,
  );
  if (!torch.available)
    throw new Error(`--torch-only: the PyTorch baseline did not run (${torch.note}).`);
  const rerun = new Set(rows.map((r) => r.key));
  const kept = Object.fromEntries(
    Object.entries(previous.torch.rows).filter(([key]) => !rerun.has(key)),
  );
  const results: BenchResults = {
    ...previous,
    torch: { ...torch, rows: { ...kept, ...torch.rows } },
    notes: [
      ...previous.notes,
      `PyTorch baseline re-run at ${new Date().toISOString()} (load ${loadAverage().join(' / ')}) for the ${suites.join(', ')} rows (${torch.note}); the Weft numbers are from the runs above.`,
    ],
  };
  attachRatios(results.rows, results.torch);
  return finish(results, options);
}

export function resultsPath(outDir: string, backend: string): string {
  return path.join(outDir, `results-${backend}.json`);
}

function finish(results: BenchResults, options: BenchOptions): BenchResults {
  mkdirSync(options.outDir, { recursive: true });
  const jsonPath = resultsPath(options.outDir, results.backend);
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  options.log(`weft-bench: wrote ${jsonPath}`);
  if (options.markdownPath)
    writeReport(
      results,
      options.markdownPath,
      options.plotDir ?? defaultPlotDir(options.markdownPath),
      options.log,
    );
  return results;
}

/** Write BENCHMARKS.md and its SVG plots (paths in the Markdown are relative to it). */
export function writeReport(
  results: BenchResults,
  markdownPath: string,
  plotDir: string,
  log: (line: string) => void = () => {},
): void {
  const plots = reportPlots(results.rows, results.backend);
  if (plots.length) mkdirSync(plotDir, { recursive: true });
  for (const plot of plots) writeFileSync(path.join(plotDir, plot.file), plot.svg);
  const relative = (file: string) =>
    path.relative(path.dirname(markdownPath), path.join(plotDir, file)).split(path.sep).join('/');
  const o = results.options;
  const command = `weft-bench ${suiteLabel(results)} --backend ${results.backend} --max-len ${o.maxLen} --memory-budget ${o.memoryBudget / 1024 ** 3}`;
  writeFileSync(
    markdownPath,
    renderMarkdown(results, {
      plots: plots.map((p) => ({ path: relative(p.file), title: p.title, section: p.section })),
      command,
    }),
  );
  log(
    `weft-bench: wrote ${markdownPath}${plots.length ? ` and ${plots.length} plot(s) in ${plotDir}` : ''}`,
  );
}

function suiteLabel(results: BenchResults): string {
  const present = SUITES.filter((s) => results.rows.some((r) => r.suite === s));
  return present.length === SUITES.length || present.length === 0 ? 'all' : present.join(',');
}
