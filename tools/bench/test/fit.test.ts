import { fitPowerLaw, scalingExponent } from '../src/fit.js';

const lengths = [512, 1024, 2048, 4096, 8192, 16384];

describe('scaling exponent', () => {
  it('recovers 2.0 from t = c·L²', () => {
    const points = lengths.map((L) => ({ x: L, y: 3e-6 * L * L }));
    const { exponent, coefficient } = fitPowerLaw(points);
    expect(exponent).toBeCloseTo(2, 10);
    expect(coefficient).toBeCloseTo(3e-6, 12);
    expect(scalingExponent(points)).toBeCloseTo(2, 10);
  });

  it('fits only L >= 4k when there are two or more such points', () => {
    // Overhead-dominated short lengths (flat), quadratic from 4k on.
    const points = lengths.map((L) => ({ x: L, y: L < 4096 ? 50 : 1e-6 * L * L }));
    expect(scalingExponent(points)).toBeCloseTo(2, 10);
    expect(fitPowerLaw(points).exponent).toBeLessThan(1.9);
  });

  it('uses every point when fewer than two reach 4k, and is NaN for one point', () => {
    const points = [512, 1024, 2048].map((L) => ({ x: L, y: 7 * L }));
    expect(scalingExponent(points)).toBeCloseTo(1, 10);
    expect(fitPowerLaw([{ x: 1, y: 1 }]).exponent).toBeNaN();
  });
});
