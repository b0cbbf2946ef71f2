/** Small number and time formats for terminal output. */

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
}

export const count = (n: number) => Math.round(n).toLocaleString('en-US');

export const fixed = (n: number | undefined, digits = 3) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));

/** JSON-safe number: NaN / Infinity become null. */
export const jsonNumber = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : n);
