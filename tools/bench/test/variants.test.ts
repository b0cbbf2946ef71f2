/** Model variants, the --kinds label filter, the sweep's resume rule and the decode-mode merge groups. */
import { createRegistry } from '@weft/core';
import { standard } from '@weft/nn';
import { parseArgs } from '../src/args.js';
import { mergeResults } from '../src/merge.js';
import { DEFAULT_OPTIONS, type BenchResults, type BenchRow } from '../src/options.js';
import { pickLabel } from '../src/suites/decode.js';
import { resumeIndex } from '../src/suites/kernels.js';
import { sweepShapes } from '../src/sweep.js';
import {
  HEADS_KV_VARIANTS,
  memoryVariantSpecs,
  REDUCER_VARIANTS,
  resolveVariants,
  slotVariants,
} from '../src/variants.js';

describe('model variants', () => {
  const registry = createRegistry().use(standard);

  it('turns attention kernels and mixers into partial model configs', () => {
    const variants = slotVariants(registry, ['dense']);
    expect(variants).toEqual([
      { label: 'dense', plugin: '@weft/nn', config: { attention: { kind: 'dense' } } },
    ]);
  });

  it('skips a variant whose slot kinds are not installed, naming them and the plugin', () => {
    const [gqa] = resolveVariants(registry, HEADS_KV_VARIANTS, ['heads:gqa-kv2']);
    expect(gqa.config).toEqual({ headLayout: { kind: 'gqa', kvHeads: 2 } });
    expect(gqa.skip).toMatch(/heads "gqa" not installed \(@weft\/heads-mqa missing/);
    const [none] = resolveVariants(registry, memoryVariantSpecs(64), ['memory:segments-only']);
    expect(none.skip).toBeUndefined();
  });

  it('has one decode variant per head layout / KV plugin of the issue, and every reducer', () => {
    const plugins = new Set(HEADS_KV_VARIANTS.map((v) => v.plugin));
    for (const name of [
      'heads-mqa',
      'heads-cla',
      'heads-mlkv',
      'moe-switchhead',
      'heads-value-residual',
      'heads-inattention',
      'kv-tova',
      'kv-gear',
      'kv-relay',
    ])
      expect(plugins).toContain(`@weft/${name}`);
    expect(REDUCER_VARIANTS.map((v) => v.reducer.kind).sort()).toEqual([
      'dynamic-pooling',
      'funnel',
      'hourglass',
      'ltp',
      'random-ltd',
      'tome',
    ]);
  });

  it('selects labels by full name or by the part after the family prefix', () => {
    expect(pickLabel(undefined, 'heads:mqa')).toBe(true);
    expect(pickLabel(['mqa'], 'heads:mqa')).toBe(true);
    expect(pickLabel(['heads:mqa'], 'heads:mqa')).toBe(true);
    expect(pickLabel(['gqa'], 'heads:mqa')).toBe(false);
  });
});

describe('kernel sweep resume', () => {
  it('after a stop at 8 heads resumes at the first 1-head length, and nowhere after that', () => {
    const shapes = sweepShapes(512, 65536);
    const at16k = shapes.findIndex((s) => s.L === 16384);
    expect(shapes[resumeIndex(shapes, at16k)].L).toBe(32768);
    expect(shapes[resumeIndex(shapes, 2)].L).toBe(32768);
    expect(resumeIndex(shapes, shapes.length - 2)).toBe(-1);
  });
});

describe('decode modes', () => {
  it('parses --decode-modes and refuses other words', () => {
    expect(parseArgs(['decode', '--decode-modes', 'cache']).options.decodeModes).toEqual(['cache']);
    expect(() => parseArgs(['decode', '--decode-modes', 'cache,fast'])).toThrow(
      /--decode-modes takes cache and\/or recompute; got "fast"/,
    );
    expect(parseArgs(['reducers']).suite).toBe('reducers');
    expect(parseArgs(['memory']).suite).toBe('memory');
  });

  it('merging keeps the other mode of a decode variant', () => {
    const { log: _log, ...options } = DEFAULT_OPTIONS;
    const decodeRow = (mode: string, ms: number): BenchRow => ({
      suite: 'decode',
      key: `decode/${mode}/ctx256`,
      kind: 'dense',
      plugin: '@weft/nn',
      status: 'ok',
      shape: { mode, context: 256 },
      metrics: { msPerToken: ms },
    });
    const doc = (rows: BenchRow[]): BenchResults => ({
      date: 'd',
      backend: 'wasm',
      threads: 1,
      machine: { cpu: 'x', cores: 2, memoryBytes: 1, os: 'Linux', node: 'v20' },
      load: { start: [1, 1, 1], end: [1, 1, 1] },
      options,
      plugins: [],
      rows,
      torch: { available: false, note: '', rows: {} },
      notes: [],
    });
    const merged = mergeResults(
      doc([decodeRow('cache', 10), decodeRow('recompute', 50)]),
      doc([decodeRow('cache', 8)]),
      ['decode'],
    );
    expect(merged.rows.map((r) => [r.shape.mode, r.metrics.msPerToken])).toEqual([
      ['recompute', 50],
      ['cache', 8],
    ]);
  });
});
