/** The kernel plots: time against L, log-log, one series per kernel, exponent in the legend. */
import { scalingExponent } from '../fit.js';
import type { BenchRow } from '../options.js';
import { logLogSvg, type Series } from './svg.js';

export interface Plot {
  file: string;
  title: string;
  svg: string;
}

/** One series per kind for `pass`, labelled `kind (p = 2.01)`. */
export function kernelSeries(rows: readonly BenchRow[], pass: string): Series[] {
  const byKind = new Map<string, Array<{ x: number; y: number }>>();
  for (const r of rows) {
    if (r.suite !== 'kernels' || r.status !== 'ok' || r.shape.pass !== pass) continue;
    const pts = byKind.get(r.kind) ?? [];
    // Per (batch × head) so the switch from H = 8 to H = 1 past 16k does not bend the line.
    pts.push({ x: Number(r.shape.L), y: r.metrics.ms / (Number(r.shape.B) * Number(r.shape.H)) });
    byKind.set(r.kind, pts);
  }
  return [...byKind].map(([kind, points]) => {
    const p = scalingExponent(points);
    return { label: `${kind} (p = ${Number.isFinite(p) ? p.toFixed(2) : '—'})`, points };
  });
}

export function kernelPlots(rows: readonly BenchRow[], backend: string): Plot[] {
  const plots: Plot[] = [];
  for (const [pass, file] of [
    ['fwd', 'kernels-time.svg'],
    ['fwd+bwd', 'kernels-time-fwdbwd.svg'],
  ] as const) {
    const series = kernelSeries(rows, pass);
    if (!series.length) continue;
    const title = `Causal attention ${pass} on ${backend}: time per head vs L`;
    plots.push({
      file,
      title,
      svg: logLogSvg(series, {
        title,
        xLabel: 'sequence length L',
        yLabel: 'ms per (batch · head)',
      }),
    });
  }
  return plots;
}
