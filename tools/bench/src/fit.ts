/**
 * The scaling exponent of a time-vs-length curve: the least-squares slope p of
 * log t = log c + p · log L. Attention is p ≈ 2 (quadratic); linear-time mixers p ≈ 1.
 */

export interface Point {
  x: number;
  y: number;
}

/** Slope and intercept of the least-squares line through (log x, log y). NaN when under 2 distinct x. */
export function fitPowerLaw(points: readonly Point[]): { exponent: number; coefficient: number } {
  const usable = points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.y));
  const n = usable.length;
  const lx = usable.map((p) => Math.log(p.x));
  const ly = usable.map((p) => Math.log(p.y));
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (lx[i] - mx) ** 2;
    sxy += (lx[i] - mx) * (ly[i] - my);
  }
  if (n < 2 || sxx === 0) return { exponent: NaN, coefficient: NaN };
  const exponent = sxy / sxx;
  return { exponent, coefficient: Math.exp(my - exponent * mx) };
}

/**
 * The exponent fitted over the points with x >= `from` (4k by default: short lengths are
 * dominated by fixed overheads), or over all points when fewer than two qualify.
 */
export function scalingExponent(points: readonly Point[], from = 4096): number {
  const tail = points.filter((p) => p.x >= from);
  return fitPowerLaw(tail.length >= 2 ? tail : points).exponent;
}
