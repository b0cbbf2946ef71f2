/** Number formatting shared by the Markdown tables. */

/** 3 significant figures, thousands separated: 1234.5 -> "1,235", 0.01234 -> "0.0123". */
export function formatNumber(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
}

export function formatRatio(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x)
    ? 'n/a'
    : `${x < 0.1 ? x.toFixed(3) : x.toFixed(2)}x`;
}

export function formatMiB(bytes: number | undefined): string {
  return bytes === undefined ? '—' : formatNumber(bytes / 2 ** 20);
}

export function formatLength(L: number | string | undefined): string {
  if (typeof L !== 'number') return String(L ?? '');
  return L >= 1024 && L % 1024 === 0 ? `${L / 1024}k` : String(L);
}
