/**
 * The report's plots: kernel time against L (log-log, one series per kernel, exponent in the
 * legend; attention kernels and mixers apart), decode cache bytes against context, and the
 * segment memories' ms/token against input length.
 */
import { scalingExponent } from '../fit.js';
import type { BenchRow } from '../options.js';
import { logLogSvg, type Series } from './svg.js';

export interface Plot {
  file: string;
  title: string;
  svg: string;
  /** The report section it belongs under. */
  section: 'kernels' | 'decode' | 'memory';
}

/** One series per kind for `pass`, labelled `kind (p = 2.01)`; `mixers` picks mixer rows or attention rows. */
export function kernelSeries(rows: readonly BenchRow[], pass: string, mixers = false): Series[] {
  const byKind = new Map<string, Array<{ x: number; y: number }>>();
  for (const r of rows) {
    if (r.suite !== 'kernels' || r.status !== 'ok' || r.shape.pass !== pass) continue;
    if (r.kind.startsWith('mixer:') !== mixers) continue;
    const label = r.shape.sweep ? `${r.kind} [${r.shape.sweep}]` : r.kind;
    const pts = byKind.get(label) ?? [];
    // Per (batch × head) so the switch from H = 8 to H = 1 past 16k does not bend the line.
    pts.push({ x: Number(r.shape.L), y: r.metrics.ms / (Number(r.shape.B) * Number(r.shape.H)) });
    byKind.set(label, pts);
  }
  return [...byKind].map(([kind, points]) => {
    const p = scalingExponent(points);
    return { label: `${kind} (p = ${Number.isFinite(p) ? p.toFixed(2) : '—'})`, points };
  });
}

export function kernelPlots(rows: readonly BenchRow[], backend: string): Plot[] {
  const plots: Plot[] = [];
  for (const [pass, file, mixers] of [
    ['fwd', 'kernels-time.svg', false],
    ['fwd+bwd', 'kernels-time-fwdbwd.svg', false],
    ['fwd', 'mixers-time.svg', true],
  ] as const) {
    const series = kernelSeries(rows, pass, mixers);
    if (!series.length) continue;
    const title = mixers
      ? `Mixers fwd on ${backend}: time per head-equivalent vs L`
      : `Attention ${pass} on ${backend}: time per head vs L`;
    plots.push({
      file,
      title,
      section: 'kernels',
      svg: logLogSvg(series, {
        title,
        xLabel: 'sequence length L',
        yLabel: mixers ? 'ms per (batch · H), D = 64·H' : 'ms per (batch · head)',
      }),
    });
  }
  return plots;
}

/** Series of `metric` against `x` per kind, for one suite's ok rows. */
function seriesBy(
  rows: readonly BenchRow[],
  suite: BenchRow['suite'],
  x: (r: BenchRow) => number,
  y: (r: BenchRow) => number | undefined,
  keep: (r: BenchRow) => boolean = () => true,
): Series[] {
  const byKind = new Map<string, Array<{ x: number; y: number }>>();
  for (const r of rows) {
    if (r.suite !== suite || r.status !== 'ok' || !keep(r)) continue;
    const value = y(r);
    if (value === undefined || !(value > 0)) continue;
    byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), { x: x(r), y: value }]);
  }
  return [...byKind].map(([label, points]) => ({ label, points }));
}

/** Decode: cache bytes against context (cache mode). */
export function decodePlots(rows: readonly BenchRow[], backend: string): Plot[] {
  const series = seriesBy(
    rows,
    'decode',
    (r) => Number(r.shape.context),
    (r) => (r.metrics.cacheBytes === undefined ? undefined : r.metrics.cacheBytes / 1024),
    (r) => r.shape.mode === 'cache',
  );
  if (!series.length) return [];
  const title = `Decoding cache size vs context on ${backend}`;
  return [
    {
      file: 'decode-cache-bytes.svg',
      title,
      section: 'decode',
      svg: logLogSvg(series, { title, xLabel: 'context (tokens)', yLabel: 'cache KiB' }),
    },
  ];
}

/** Memory: ms per token against total input length. */
export function memoryPlots(rows: readonly BenchRow[], backend: string): Plot[] {
  const series = seriesBy(
    rows,
    'memory',
    (r) => Number(r.shape.T),
    (r) => r.metrics.msPerToken,
  );
  if (!series.length) return [];
  const title = `Segment memories on ${backend}: ms per token vs input length`;
  return [
    {
      file: 'memory-ms-per-token.svg',
      title,
      section: 'memory',
      svg: logLogSvg(series, { title, xLabel: 'input length T (tokens)', yLabel: 'ms / token' }),
    },
  ];
}

/** Every plot of the report. */
export function reportPlots(rows: readonly BenchRow[], backend: string): Plot[] {
  return [
    ...kernelPlots(rows, backend),
    ...decodePlots(rows, backend),
    ...memoryPlots(rows, backend),
  ];
}
