import { mergeResults } from '../src/merge.js';
import { DEFAULT_OPTIONS, type BenchResults, type BenchRow } from '../src/options.js';

const { log: _log, ...options } = DEFAULT_OPTIONS;

function results(
  date: string,
  rows: BenchRow[],
  torchRows: Record<string, Record<string, number>>,
  load = [1, 1, 1],
): BenchResults {
  return {
    date,
    backend: 'wasm',
    threads: 1,
    machine: { cpu: 'x', cores: 2, memoryBytes: 1, os: 'Linux', node: 'v20' },
    load: { start: load, end: load },
    options,
    plugins: [],
    rows,
    torch: { available: true, note: 'torch', rows: torchRows },
    notes: [],
  };
}

const row = (suite: BenchRow['suite'], key: string): BenchRow => ({
  suite,
  key,
  kind: 'dense',
  plugin: '@weft/nn',
  status: 'ok',
  shape: {},
  metrics: { ms: 1 },
});

describe('merging runs', () => {
  it('replaces only the (suite, kind, config) groups that ran', () => {
    const train = (kind: string, config: string): BenchRow => ({
      ...row('train', `train/${config}`),
      kind,
      shape: { config },
    });
    const previous = results('d1', [train('dense', 'reference'), train('mingru', 'reference')], {});
    const current = results('d2', [train('dense', 'long')], {});
    const merged = mergeResults(previous, current, ['train']);
    expect(merged.rows.map((r) => `${r.kind}/${r.shape.config}`)).toEqual([
      'dense/reference',
      'mingru/reference',
      'dense/long',
    ]);
  });

  it("keeps the other suites' rows and torch numbers, replaces the suites that ran", () => {
    const previous = results(
      'd1',
      [row('kernels', 'k1'), row('train', 'old-train')],
      { k1: { ms: 2 }, 'old-train': { ms: 3 } },
      [9, 9, 9],
    );
    const current = results('d2', [row('train', 'new-train')], { 'new-train': { ms: 4 } });
    const merged = mergeResults(previous, current, ['train']);
    expect(merged.rows.map((r) => r.key)).toEqual(['k1', 'new-train']);
    expect(Object.keys(merged.torch.rows).sort()).toEqual(['k1', 'new-train']);
    expect(merged.date).toBe('d2');
    expect(merged.load.start).toEqual([9, 9, 9]);
    expect(merged.notes[merged.notes.length - 1]).toMatch(/^train ran at d2/);
  });

  it('ignores a previous run of another backend or none', () => {
    const current = results('d2', [row('train', 't')], {});
    expect(mergeResults(undefined, current, ['train'])).toBe(current);
    expect(mergeResults({ ...current, backend: 'cpu' }, current, ['train'])).toBe(current);
  });
});
