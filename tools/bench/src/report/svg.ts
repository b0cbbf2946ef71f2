/**
 * A standalone log-log line chart (time against sequence length, one series per kernel),
 * written by hand: no dependencies, opens in any browser, embeds in Markdown. The legend
 * shows each series' fitted scaling exponent.
 */

export interface Series {
  label: string;
  points: Array<{ x: number; y: number }>;
}

export interface LogLogOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const COLORS = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];
const MARGIN = { left: 70, right: 230, top: 44, bottom: 52 };

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** Powers of ten covering [lo, hi] (at least two). */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out.length >= 2 ? out : [out[0], out[0] * 10];
}

function formatTick(v: number): string {
  if (v >= 1000 && v % 1024 === 0) return `${v / 1024}k`;
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1000) return `${v / 1000}k`;
  return String(v);
}

export function logLogSvg(series: readonly Series[], options: LogLogOptions): string {
  const width = options.width ?? 760;
  // Tall enough for one 20 px legend line per series.
  const height = Math.max(
    options.height ?? 420,
    MARGIN.top + 16 + series.length * 20 + MARGIN.bottom,
  );
  const all = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const [xLo, xHi] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [1, 10];
  const yTicks = ys.length ? decades(Math.min(...ys), Math.max(...ys)) : [1, 10];
  const [yLo, yHi] = [yTicks[0], yTicks[yTicks.length - 1]];
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const lx = (x: number) =>
    MARGIN.left +
    (xHi === xLo
      ? plotW / 2
      : ((Math.log(x) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * plotW);
  const ly = (y: number) =>
    MARGIN.top + plotH - ((Math.log(y) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * plotH;
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  for (const t of yTicks) {
    const y = ly(t).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e7eb"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = lx(t).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#e5e7eb"/>`,
    );
    parts.push(
      `<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${formatTick(t)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#374151"/>`,
  );
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text x="18" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    // Past the palette, repeat the colours with dashes so every series stays distinguishable.
    const dash = DASHES[Math.floor(i / COLORS.length) % DASHES.length];
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0);
    if (pts.length) {
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dashAttr} points="${pts.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const p of pts)
        parts.push(
          `<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="3" fill="${color}"/>`,
        );
    }
    const y = MARGIN.top + 8 + i * 20;
    const x = MARGIN.left + plotW + 14;
    parts.push(
      `<line x1="${x}" y1="${y}" x2="${x + 20}" y2="${y}" stroke="${color}" stroke-width="2"${dashAttr}/>`,
    );
    parts.push(
      `<text x="${x + 26}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
