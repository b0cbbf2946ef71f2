import { Rng, ShapeError } from '@weft/core';
import { samplePositions } from '@weft/pos-randomized';

describe('samplePositions: a sorted sample of n distinct positions from [0, L)', () => {
  it('is strictly increasing and in range, for many draws', () => {
    const rng = new Rng(1);
    for (let draw = 0; draw < 200; draw++) {
      const n = 1 + rng.int(40);
      const s = samplePositions(rng, n, 64);
      expect(s).toHaveLength(n);
      for (let t = 0; t < n; t++) {
        expect(Number.isInteger(s[t])).toBe(true);
        expect(s[t]).toBeGreaterThanOrEqual(0);
        expect(s[t]).toBeLessThan(64);
        if (t > 0) expect(s[t]).toBeGreaterThan(s[t - 1]);
      }
    }
    expect(samplePositions(rng, 64, 64)).toEqual(Array.from({ length: 64 }, (_, i) => i)); // n = L: all positions
  });

  it('has uniform marginals: every position is chosen with probability n/L (chi-square, fixed seed)', () => {
    const [n, L, draws] = [10, 50, 4000];
    const counts = new Array<number>(L).fill(0);
    const rng = new Rng(2024);
    for (let d = 0; d < draws; d++) for (const p of samplePositions(rng, n, L)) counts[p]++;
    const expected = (draws * n) / L;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    // L − 1 = 49 degrees of freedom: mean 49, sd ≈ 9.9. Loose bound (≈ 5 sd); a biased sampler
    // (e.g. the first n positions, or a sort that drops the last one) scores in the thousands.
    expect(chi2).toBeLessThan(49 + 5 * Math.sqrt(2 * 49));
    // and the first/last sorted positions are not stuck at the ends
    expect(counts[0]).toBeLessThan(2 * expected);
  });

  it('is deterministic per seed and differs between seeds', () => {
    expect(samplePositions(new Rng(5), 12, 100)).toEqual(samplePositions(new Rng(5), 12, 100));
    expect(samplePositions(new Rng(5), 12, 100)).not.toEqual(samplePositions(new Rng(6), 12, 100));
  });

  it('refuses n > L with the fix', () => {
    const f = () => samplePositions(new Rng(0), 9, 8);
    expect(f).toThrow(ShapeError as never);
    expect(f).toThrow(/a sequence of 9 tokens needs 9 distinct positions, but maxLength is 8\. Raise "maxLength" to at least 9/);
  });
});
