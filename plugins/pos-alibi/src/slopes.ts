/**
 * ALiBi head slopes (Press et al. 2022, §3 "Attention with Linear Biases").
 *
 * Notation: H number of attention heads, m_h the slope of head h (h = 1..H).
 *
 * For H a power of two the slopes are the geometric sequence that starts at 2^(-8/H) and
 * has that same ratio: m_h = 2^(-8h/H) (H = 8 -> 1/2, 1/4, ..., 1/256). For other H the
 * paper's reference code takes the slopes of the nearest lower power of two P, then fills
 * the remaining H - P heads with every other slope of 2P (those at odd h, i.e. the ones
 * lying between P's slopes): H = 6 -> [1/4, 1/16, 1/64, 1/256, 1/2, 1/8].
 */

/** m_h = 2^(-8h/n) for h = 1..n, n a power of two. */
function powerOfTwoSlopes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.pow(2, (-8 * (i + 1)) / n));
}

/** The H slopes m_1..m_H of ALiBi, in head order. */
export function alibiSlopes(heads: number): number[] {
  if (!Number.isInteger(heads) || heads < 1) {
    throw new RangeError(`alibiSlopes: heads must be a positive integer; got ${heads}`);
  }
  const lowerPower = Math.pow(2, Math.floor(Math.log2(heads))); // P <= H
  if (lowerPower === heads) return powerOfTwoSlopes(heads);
  const extra = powerOfTwoSlopes(2 * lowerPower).filter((_, i) => i % 2 === 0); // 2^(-8(2k+1)/2P)
  return [...powerOfTwoSlopes(lowerPower), ...extra.slice(0, heads - lowerPower)];
}
