/**
 * The default `Progress` service: a cli-progress bar on a terminal, and plain periodic lines
 * elsewhere (CI logs, files, pipes), e.g.
 *
 *   step 120/500 loss 2.314 1,234 tok/s ETA 1m12s
 *
 * Fields are printed in the order given as `name value`; a field whose name ends in `/s` is
 * a rate and is printed `value name`. Numbers are grouped by thousands.
 */
import cliProgress from 'cli-progress';
import type { Progress, ProgressHandle } from '@weft/core';

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw a bar (default: when the stream is a terminal). */
  bar?: boolean;
  /** Plain mode: at least this many milliseconds between lines (default 5000); the last step always prints. */
  intervalMs?: number;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
}

/** 72 -> "1m12s", 3725 -> "1h02m", 9.4 -> "9s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 1234.4 -> "1,234". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatFields(fields: Record<string, string | number> = {}): string {
  return Object.entries(fields)
    .map(([name, value]) => {
      const text = typeof value === 'number' ? formatCount(value) : value;
      return name.endsWith('/s') ? `${text} ${name}` : `${name} ${text}`;
    })
    .join(' ');
}

function plainHandle(
  label: string,
  total: number,
  stream: NodeJS.WritableStream,
  intervalMs: number,
  now: () => number,
): ProgressHandle {
  let first: { current: number; time: number } | undefined;
  let lastPrinted = -Infinity;
  return {
    update(current, fields) {
      const time = now();
      first ??= { current, time };
      if (time - lastPrinted < intervalMs && current < total) return;
      lastPrinted = time;
      const rate = (current - first.current) / (time - first.time);
      const eta = rate > 0 ? ` ETA ${formatDuration((total - current) / rate / 1000)}` : '';
      const extra = formatFields(fields);
      stream.write(`${label} ${current}/${total}${extra ? ` ${extra}` : ''}${eta}\n`);
    },
    stop() {},
  };
}

function barHandle(label: string, total: number, stream: NodeJS.WritableStream): ProgressHandle {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {fields} ETA {eta_formatted}`,
      stream,
      hideCursor: true,
      barsize: 24,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(current, fields) {
      // Start at the first reported value, so a resumed run's ETA ignores the steps already done.
      if (!started) bar.start(total, current, { fields: formatFields(fields) });
      else bar.update(current, { fields: formatFields(fields) });
      started = true;
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const useBar = options.bar ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? 5000;
  const now = options.now ?? (() => performance.now());
  return {
    start: (label, total) =>
      useBar ? barHandle(label, total, stream) : plainHandle(label, total, stream, intervalMs, now),
  };
}
