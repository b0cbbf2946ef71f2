/** A tiny run of each suite (smallest sizes, one rep, cpu, no PyTorch): rows have the right fields. No timing assertions. */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from '../src/run-bench.js';
import type { BenchRow } from '../src/options.js';
import { runTrainChild } from '../src/suites/train-child-process.js';

const outDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
const quiet = {
  backend: 'cpu' as const,
  tiny: true,
  python: false as const,
  outDir,
  log: () => {},
};

function expectRowFields(row: BenchRow): void {
  expect(typeof row.key).toBe('string');
  expect(typeof row.kind).toBe('string');
  expect(typeof row.plugin).toBe('string');
  expect(['ok', 'skipped', 'failed']).toContain(row.status);
  if (row.status !== 'ok') expect(row.note).toMatch(/^(stopped|skipped|failed)/);
}

describe('smoke runs (tiny sizes)', () => {
  it('kernels: dense attention forward and forward+backward', async () => {
    // A causal kernel, a bidirectional-only one (run without the mask) and a mixer: every
    // installed kernel would take minutes on cpu.
    const results = await runBench('kernels', {
      ...quiet,
      kinds: ['dense', 'linear', 'galerkin', 'mingru'],
    });
    expect(results.backend).toBe('cpu');
    expect(results.machine.cores).toBeGreaterThan(0);
    const dense = results.rows.filter((r) => r.kind === 'dense');
    expect(dense.map((r) => r.shape.pass).sort()).toEqual(['fwd', 'fwd+bwd']);
    for (const row of results.rows) expectRowFields(row);
    for (const row of dense) {
      expect(row.status).toBe('ok');
      expect(row.shape).toMatchObject({ B: 1, L: 64 });
      expect(row.metrics.ms).toBeGreaterThan(0);
      expect(row.metrics.gflops).toBeGreaterThan(0);
      expect(row.metrics.peakBytes).toBeGreaterThan(0);
      expect(row.metrics.leakedTensors).toBe(0);
      expect(row.torchRatio).toBeUndefined();
    }
    const galerkin = results.rows.filter((r) => r.kind === 'galerkin');
    expect(galerkin.map((r) => [r.status, r.shape.mask])).toEqual([
      ['ok', 'bidirectional'],
      ['ok', 'bidirectional'],
    ]);
    expect(galerkin[0].key).toMatch(/^attention-bidir\//);
    expect(results.rows.find((r) => r.kind === 'mixer:mingru')?.status).toBe('ok');
    expect(
      JSON.parse(readFileSync(path.join(outDir, 'results-cpu.json'), 'utf8')).rows,
    ).toHaveLength(results.rows.length);
  });

  it.each([
    ['in a child process per variant (default)', true],
    ['in-process (--no-isolate)', false],
  ])(
    'train: a step of the tiny LM gives tokens/s, %s',
    async (_how, isolateTrain) => {
      const results = await runBench('train', { ...quiet, kinds: ['dense'], isolateTrain });
      expect(results.rows).toHaveLength(1);
      const [row] = results.rows;
      expectRowFields(row);
      expect(row).toMatchObject({ suite: 'train', kind: 'dense', status: 'ok' });
      expect(row.metrics.tokensPerSec).toBeGreaterThan(0);
      expect(row.metrics.leakedTensors).toBe(0);
    },
    60000,
  );

  it('train: a child that fails reports its error instead of losing the run', () => {
    const result = runTrainChild({
      backend: 'cpu',
      threads: 1,
      config: 'no-such-config',
      slot: 'attention',
      kind: 'dense',
      steps: 1,
    });
    expect(result).toEqual({
      error: expect.stringMatching(/Unknown train config "no-such-config"/),
    });
  }, 60000);

  it('decode: cache and recompute rows per context', async () => {
    const results = await runBench('decode', { ...quiet, kinds: ['dense'] });
    expect(results.rows.map((r) => r.shape.mode)).toEqual(['cache', 'recompute']);
    for (const row of results.rows) {
      expectRowFields(row);
      expect(row.status).toBe('ok');
      expect(row.metrics.msPerToken).toBeGreaterThan(0);
      expect(row.metrics.tokensPerSec).toBeCloseTo(1000 / row.metrics.msPerToken);
    }
  });

  it('writes BENCHMARKS.md and well-formed plots when asked', async () => {
    const markdownPath = path.join(outDir, 'BENCHMARKS.md');
    const plotDir = path.join(outDir, 'plots');
    await runBench('kernels', { ...quiet, kinds: ['dense'], markdownPath, plotDir });
    expect(readFileSync(markdownPath, 'utf8')).toContain('## Attention kernels');
    expect(existsSync(path.join(plotDir, 'kernels-time.svg'))).toBe(true);
  });
});
