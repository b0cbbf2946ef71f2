import { DEFAULT_OPTIONS, type BenchResults, type BenchRow } from '../src/options.js';
import { formatRatio } from '../src/report/format.js';
import {
  decodeTable,
  kernelsTable,
  memoryTable,
  reducersTable,
  renderMarkdown,
  trainTable,
} from '../src/report/markdown.js';
import { kernelPlots, reportPlots } from '../src/report/plots.js';
import { logLogSvg } from '../src/report/svg.js';
import { markdownTable } from '../src/report/table.js';
import { torchRatio } from '../src/torch.js';

function kernelRow(kind: string, L: number, ms: number, extra: Partial<BenchRow> = {}): BenchRow {
  return {
    suite: 'kernels',
    key: `attention/fwd/B1/H8/L${L}/D64`,
    kind,
    plugin: '@weft/nn',
    status: 'ok',
    shape: { pass: 'fwd', B: 1, H: 8, L, Dh: 64 },
    metrics: { ms, gflops: 12.5, peakBytes: 64 * 2 ** 20 },
    ...extra,
  };
}

const trainRow: BenchRow = {
  suite: 'train',
  key: 'train/reference/B8/L256/d128/n4',
  kind: 'dense',
  plugin: '@weft/nn',
  status: 'ok',
  shape: { config: 'reference', B: 8, L: 256, dModel: 128, layers: 4, heads: 4, vocab: 256 },
  metrics: { ms: 6480, tokensPerSec: 316 },
};

/** Checks tags balance and nest (a small XML well-formedness check; no parser dependency). */
function expectWellFormedXml(xml: string): void {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attrs, selfClosing] = m;
    expect(attrs).not.toMatch(/[<&](?!amp;|lt;|gt;|quot;|apos;)/);
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  const text = xml.replace(/<[^>]*>/g, '');
  expect(text).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;|apos;)/);
}

describe('markdown tables', () => {
  it('renders header, alignment and rows, escaping pipes', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']], ['l', 'r'])).toBe(
      '| a | b |\n| --- | ---: |\n| 1 | x\\|y |\n',
    );
  });

  it('renders a kernel row with its numbers, and n/a without a PyTorch ratio', () => {
    const table = kernelsTable([
      kernelRow('dense', 4096, 123.4, { torchRatio: 0.5 }),
      kernelRow('flash', 8192, 0, {
        status: 'skipped',
        note: 'stopped: estimated peak memory 8.00 GiB > budget 4.00 GiB',
        metrics: {},
      }),
    ]);
    const lines = table.trim().split('\n');
    expect(lines[0]).toBe(
      '| kernel | pass | L | H | ms (median) | GFLOP/s | peak MiB | vs PyTorch | status |',
    );
    expect(lines[2]).toBe('| dense | fwd | 4k | 8 | 123 | 12.5 | 64 | 0.50x | ok |');
    expect(lines[3]).toBe(
      '| flash | fwd | 8k | 8 | — | — | — | n/a | stopped: estimated peak memory 8.00 GiB > budget 4.00 GiB |',
    );
  });

  it('renders the training table with tokens/s and the ratio', () => {
    const lines = trainTable([{ ...trainRow, torchRatio: 316 / 3839 }])
      .trim()
      .split('\n');
    expect(lines[2]).toBe('| reference | 4×d128, L=256, B=8 | dense | 6,480 | 316 | 0.082x | ok |');
  });

  it('computes ratios as Weft throughput over PyTorch throughput', () => {
    expect(torchRatio(trainRow, { tokensPerSec: 3160 })).toBeCloseTo(0.1);
    expect(torchRatio(kernelRow('dense', 512, 20), { ms: 10 })).toBeCloseTo(0.5);
    expect(torchRatio(kernelRow('dense', 512, 20), undefined)).toBeUndefined();
    expect(formatRatio(undefined)).toBe('n/a');
  });

  it('renders a whole BENCHMARKS.md with machine, backend, load and plots', () => {
    const { log: _log, ...options } = DEFAULT_OPTIONS;
    const results: BenchResults = {
      date: '2025-01-01T00:00:00.000Z',
      backend: 'wasm',
      threads: 1,
      machine: {
        cpu: 'Test CPU',
        cores: 2,
        memoryBytes: 8 * 2 ** 30,
        os: 'Linux',
        node: 'v20.0.0',
      },
      load: { start: [7.5, 6, 5], end: [7, 6, 5] },
      options,
      plugins: [{ name: '@weft/nn', version: '0.1.0', status: 'loaded' }],
      rows: [kernelRow('dense', 512, 10), kernelRow('dense', 1024, 40), trainRow],
      torch: { available: false, note: 'no torch', rows: {} },
      notes: [],
    };
    const md = renderMarkdown(results, {
      plots: [{ path: 'docs/bench/kernels-time.svg', title: 'Kernels' }],
      command: 'weft-bench all',
    });
    expect(md).toContain('# Weft benchmarks');
    expect(md).toContain('| machine | Test CPU, 2 cores, 8 GiB RAM, Linux |');
    expect(md).toContain('| backend | wasm (1 thread) |');
    expect(md).toContain('**Load note:**');
    expect(md).toContain('## Attention kernels');
    expect(md).toContain('## Training step');
    expect(md).not.toContain('## Decoding');
    expect(md).toContain('![Kernels](docs/bench/kernels-time.svg)');
    // exponent table: 40/10 over a doubling = 2, fitted over both points (none is >= 4k)
    expect(md).toContain('| dense | fwd | 1k | 512–1k (2 pts, all) | 2.00 |');
  });
});

describe('SVG plot', () => {
  it('is well-formed and shows each series with its fitted exponent', () => {
    const rows = [512, 1024, 2048, 4096, 8192].flatMap((L) => [
      kernelRow('dense', L, 1e-5 * L * L),
      kernelRow('flash <fused>', L, 2e-6 * L * L),
    ]);
    const [plot] = kernelPlots(rows, 'wasm');
    expect(plot.file).toBe('kernels-time.svg');
    expect(plot.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expectWellFormedXml(plot.svg);
    expect(plot.svg).toContain('dense (p = 2.00)');
    expect(plot.svg).toContain('flash &lt;fused&gt; (p = 2.00)');
    expect((plot.svg.match(/<polyline/g) ?? []).length).toBe(2);
  });

  it('stays well-formed with no points', () => {
    expectWellFormedXml(
      logLogSvg([{ label: 'empty', points: [] }], { title: 'a & b', xLabel: 'L', yLabel: 'ms' }),
    );
  });
});

describe('model-suite tables', () => {
  it('shows the decode cache size and the plugin', () => {
    const lines = decodeTable([
      {
        suite: 'decode',
        key: 'decode/cache/ctx1024',
        kind: 'heads:gqa-kv2',
        plugin: '@weft/heads-mqa',
        status: 'ok',
        shape: { mode: 'cache', context: 1024 },
        metrics: { msPerToken: 20, tokensPerSec: 50, prefillMs: 900, cacheBytes: 2 * 1024 * 1024 },
      },
    ])
      .trim()
      .split('\n');
    expect(lines[0]).toContain('| cache KiB |');
    expect(lines[2]).toBe(
      '| heads:gqa-kv2 | @weft/heads-mqa | cache | 1k | 20 | 50 | 900 | 2,048 | n/a | ok |',
    );
  });

  it('shows reduced length, FLOP and time ratios of a reducer', () => {
    const lines = reducersTable([
      {
        suite: 'reducers',
        key: 'reducers/causal-lm/B2/L1024/d128/n4',
        kind: 'reduce:hourglass-k2',
        plugin: '@weft/reduce-hourglass',
        status: 'ok',
        shape: { task: 'causal-lm', B: 2, L: 1024, dModel: 128, layers: 4 },
        metrics: { reducedLength: 512, flops: 2.5e9, flopRatio: 0.6, ms: 800, timeRatio: 0.75 },
      },
    ])
      .trim()
      .split('\n');
    expect(lines[2]).toBe(
      '| reduce:hourglass-k2 | @weft/reduce-hourglass | causal-lm | 4×d128, B=2, L=1024 | 512 | 2.5 | 0.60× | 800 | 0.75× | — | ok |',
    );
  });

  it('shows ms/token growth against the shortest input and the carried state', () => {
    const row = (T: number, msPerToken: number): BenchRow => ({
      suite: 'memory',
      key: `memory/T${T}`,
      kind: 'memory:rmt',
      plugin: '@weft/memory-rmt',
      status: 'ok',
      shape: { T, segmentLength: 512 },
      metrics: { msPerToken, tokensPerSec: 1000 / msPerToken, stateBytes: 5120 },
    });
    const lines = memoryTable([row(1024, 0.5), row(4096, 0.55)])
      .trim()
      .split('\n');
    expect(lines[2]).toBe(
      '| memory:rmt | @weft/memory-rmt | 1k | 512 | 0.5 | 1.00× | 2,000 | 5 | — | ok |',
    );
    expect(lines[3]).toBe(
      '| memory:rmt | @weft/memory-rmt | 4k | 512 | 0.55 | 1.10× | 1,818 | 5 | — | ok |',
    );
  });

  it('puts each plot under its own section', () => {
    const rows: BenchRow[] = [1024, 4096].map((T) => ({
      suite: 'memory',
      key: `memory/T${T}`,
      kind: 'memory:segments-only',
      plugin: '@weft/nn',
      status: 'ok',
      shape: { T, segmentLength: 512 },
      metrics: { msPerToken: 0.4 },
    }));
    const plots = reportPlots(rows, 'wasm');
    expect(plots.map((p) => [p.file, p.section])).toEqual([['memory-ms-per-token.svg', 'memory']]);
    expectWellFormedXml(plots[0].svg);
  });
});
