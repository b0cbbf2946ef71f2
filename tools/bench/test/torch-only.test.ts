/**
 * `--torch-only`: re-running only the PyTorch baseline over an existing results file. The
 * "python" here is a stand-in script that answers the probe and returns fixed baseline numbers
 * per task key, so the test checks the plumbing (which rows are re-run, how ratios follow).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from '../src/environment.js';
import type { BenchResults, BenchRow } from '../src/options.js';
import { runBench } from '../src/run-bench.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-torch-only-'));

// Probe (`-c ...`): print a version. Script run: answer every task with 100 ms / 1000 tokens/s.
const fakePython = path.join(dir, 'fake-python.cjs');
writeFileSync(
  fakePython,
  `#!${process.execPath}
if (process.argv[2] === '-c') { console.log('9.9'); process.exit(0); }
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', () => {
  const { tasks, threads } = JSON.parse(input);
  const rows = Object.fromEntries(tasks.map((t) => [t.key, t.suite === 'train' ? { tokensPerSec: 1000 } : { ms: 100 }]));
  console.log(JSON.stringify({ torch: '9.9', threads, blas: 'fake', rows }));
});
`,
);
chmodSync(fakePython, 0o755);

const row = (suite: BenchRow['suite'], key: string, metrics: Record<string, number>): BenchRow => ({
  suite,
  key,
  kind: 'dense',
  plugin: '@weft/nn',
  status: 'ok',
  shape: {},
  metrics,
});

function writeResults(outDir: string): void {
  const results: BenchResults = {
    date: '2026-01-01T00:00:00.000Z',
    backend: 'wasm',
    threads: 1,
    machine: machineInfo(),
    load: { start: [0, 0, 0], end: [0, 0, 0] },
    options: {} as BenchResults['options'],
    plugins: [],
    rows: [
      row('kernels', 'attention/fwd/L512', { ms: 50 }),
      row('train', 'train/reference', { tokensPerSec: 500 }),
    ],
    torch: {
      available: true,
      note: 'old',
      rows: { 'attention/fwd/L512': { ms: 10 }, 'train/reference': { tokensPerSec: 5000 } },
    },
    notes: [],
  };
  writeFileSync(path.join(outDir, 'results-wasm.json'), JSON.stringify(results));
}

describe('--torch-only', () => {
  it('re-runs the baseline for the chosen suites only and recomputes their ratios', async () => {
    const outDir = mkdtempSync(path.join(dir, 'out-'));
    writeResults(outDir);
    const results = await runBench('train', {
      outDir,
      torchOnly: true,
      python: fakePython,
      log: () => {},
    });
    const byKey = Object.fromEntries(results.rows.map((r) => [r.key, r]));
    expect(results.torch.rows['train/reference']).toEqual({ tokensPerSec: 1000 });
    expect(byKey['train/reference'].torchRatio).toBeCloseTo(0.5);
    // The kernels row was not re-run: it keeps its old baseline and ratio 10 / 50.
    expect(results.torch.rows['attention/fwd/L512']).toEqual({ ms: 10 });
    expect(byKey['attention/fwd/L512'].torchRatio).toBeCloseTo(0.2);
    expect(results.notes.at(-1)).toMatch(
      /PyTorch baseline re-run .* for the train rows \(PyTorch 9\.9, 1 thread\(s\), fake BLAS\)/,
    );
  });

  it('says what to do when there is no results file, or no torch', async () => {
    const empty = mkdtempSync(path.join(dir, 'empty-'));
    await expect(
      runBench('all', { outDir: empty, torchOnly: true, python: fakePython, log: () => {} }),
    ).rejects.toThrow(/results-wasm\.json does not exist\. Run the suites first/);
    const outDir = mkdtempSync(path.join(dir, 'out-'));
    writeResults(outDir);
    await expect(
      runBench('all', { outDir, torchOnly: true, python: false, log: () => {} }),
    ).rejects.toThrow(/--torch-only: the PyTorch baseline did not run \(PyTorch baseline disabled/);
  });
});

describe('--merge', () => {
  it('takes every ratio against the merged baseline, kept rows included', async () => {
    const outDir = mkdtempSync(path.join(dir, 'merge-'));
    const key = 'train/tiny/B2/L16/d16/n1';
    const kept: BenchRow = {
      ...row('train', key, { tokensPerSec: 500 }),
      kind: 'mixer:mingru',
      shape: { config: 'tiny' },
    };
    const previous: BenchResults = {
      date: '2026-01-01T00:00:00.000Z',
      backend: 'cpu',
      threads: 1,
      machine: machineInfo(),
      load: { start: [0, 0, 0], end: [0, 0, 0] },
      options: {} as BenchResults['options'],
      plugins: [],
      rows: [kept],
      torch: { available: true, note: 'old', rows: { [key]: { tokensPerSec: 5000 } } },
      notes: [],
    };
    writeFileSync(path.join(outDir, 'results-cpu.json'), JSON.stringify(previous));
    const results = await runBench('train', {
      backend: 'cpu',
      tiny: true,
      kinds: ['dense'],
      isolateTrain: false,
      merge: true,
      outDir,
      python: fakePython,
      log: () => {},
    });
    const mingru = results.rows.find((r) => r.kind === 'mixer:mingru')!;
    expect(results.torch.rows[key]).toEqual({ tokensPerSec: 1000 });
    expect(mingru.torchRatio).toBeCloseTo(0.5); // 500 / the new 1000, not / the old 5000
  }, 60000);
});
