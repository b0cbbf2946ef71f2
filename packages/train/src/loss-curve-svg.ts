/**
 * A standalone SVG line chart of training (and evaluation) loss against step: axes with
 * "nice" ticks (1, 2 or 5 × 10^k), grid lines, axis labels, a title and a legend. No
 * dependencies; the output opens in any browser and embeds in Markdown.
 */

export interface LossPoint {
  step: number;
  loss: number;
  evalLoss?: number;
}

export interface LossCurveOptions {
  title?: string;
  /** Pixels (default 640 × 360). */
  width?: number;
  height?: number;
}

const TRAIN_COLOR = '#2563eb';
const EVAL_COLOR = '#dc2626';
const MARGIN = { left: 64, right: 20, top: 44, bottom: 52 };

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** Round a positive number to the nearest 1, 2 or 5 × 10^k. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const f = rough / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

/** About `count` evenly spaced round values covering [min, max], at least `minStep` apart. */
function niceTicks(
  min: number,
  max: number,
  count: number,
  minStep = 0,
): { ticks: number[]; step: number } {
  const step = Math.max(minStep, niceStep((max - min) / Math.max(1, count - 1)));
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return { ticks, step };
}

function formatTick(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(decimals);
}

/** [lo, hi] widened so a flat series still gets an axis. */
function domain(values: number[], pad: number): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const margin = (hi - lo) * pad;
  lo -= margin;
  hi += margin;
  return [lo, hi];
}

function path(points: Array<[number, number]>): string {
  return points
    .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`)
    .join(' ');
}

export function lossCurveSvg(points: LossPoint[], options: LossCurveOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const title = options.title ?? 'Loss';
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;

  const train = points
    .filter((p) => Number.isFinite(p.step) && Number.isFinite(p.loss))
    .map((p) => [p.step, p.loss] as [number, number]);
  const evals = points
    .filter(
      (p) => Number.isFinite(p.step) && p.evalLoss !== undefined && Number.isFinite(p.evalLoss),
    )
    .map((p) => [p.step, p.evalLoss as number] as [number, number]);
  const all = [...train, ...evals];

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
  ];
  const axisBottom = MARGIN.top + plotH;
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#374151">step</text>`,
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#374151" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">loss</text>`,
  );
  if (all.length === 0) {
    out.push(
      `<line x1="${MARGIN.left}" y1="${axisBottom}" x2="${MARGIN.left + plotW}" y2="${axisBottom}" stroke="#374151"/>`,
      `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${axisBottom}" stroke="#374151"/>`,
      `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#6b7280">no data</text>`,
      '</svg>',
    );
    return out.join('\n') + '\n';
  }

  const [x0, x1] = domain(
    all.map(([s]) => s),
    0,
  );
  const [y0, y1] = domain(
    all.map(([, l]) => l),
    0.05,
  );
  const sx = (s: number) => MARGIN.left + ((s - x0) / (x1 - x0)) * plotW;
  const sy = (l: number) => MARGIN.top + (1 - (l - y0) / (y1 - y0)) * plotH;

  const yTicks = niceTicks(y0, y1, 6);
  for (const t of yTicks.ticks) {
    const y = sy(t).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${formatTick(t, yTicks.step)}</text>`,
    );
  }
  const xTicks = niceTicks(x0, x1, 7, 1); // steps are whole numbers
  for (const t of xTicks.ticks) {
    const x = sx(t).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${axisBottom}" x2="${x}" y2="${axisBottom + 5}" stroke="#374151"/>`,
      `<text x="${x}" y="${axisBottom + 18}" text-anchor="middle" fill="#374151">${formatTick(t, xTicks.step)}</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" y1="${axisBottom}" x2="${MARGIN.left + plotW}" y2="${axisBottom}" stroke="#374151"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${axisBottom}" stroke="#374151"/>`,
  );

  const legend: Array<[string, string]> = [];
  if (train.length) {
    out.push(
      `<path class="series-train" d="${path(train.map(([s, l]) => [sx(s), sy(l)]))}" fill="none" stroke="${TRAIN_COLOR}" stroke-width="1.5"/>`,
    );
    legend.push(['train', TRAIN_COLOR]);
  }
  if (evals.length) {
    out.push(
      `<path class="series-eval" d="${path(evals.map(([s, l]) => [sx(s), sy(l)]))}" fill="none" stroke="${EVAL_COLOR}" stroke-width="1.5"/>`,
    );
    for (const [s, l] of evals)
      out.push(
        `<circle cx="${sx(s).toFixed(1)}" cy="${sy(l).toFixed(1)}" r="3" fill="${EVAL_COLOR}"/>`,
      );
    legend.push(['eval', EVAL_COLOR]);
  }
  const legendX = MARGIN.left + plotW - 70;
  legend.forEach(([name, color], i) => {
    const y = MARGIN.top + 12 + i * 18;
    out.push(
      `<line x1="${legendX}" y1="${y}" x2="${legendX + 20}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${legendX + 26}" y="${y}" dominant-baseline="middle" fill="#111827">${name}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
