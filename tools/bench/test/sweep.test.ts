import { GiB } from '../src/options.js';
import { extrapolate, ioBytes, shouldStop, sweepShapes, type MeasuredPoint } from '../src/sweep.js';

const limits = { memoryBudget: 4 * GiB, maxPointSeconds: 120, backward: false };

describe('length sweep', () => {
  it('doubles L from min to max with H = 8 up to 16k and H = 1 beyond', () => {
    const shapes = sweepShapes(512, 65536);
    expect(shapes.map((s) => s.L)).toEqual([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
    expect(shapes.map((s) => s.H)).toEqual([8, 8, 8, 8, 8, 8, 1, 1]);
    expect(shapes.every((s) => s.B === 1 && s.Dh === 64)).toBe(true);
  });
});

describe('memory-budget stop', () => {
  const point = (L: number, H: number, peakBytes: number, ms = 10): MeasuredPoint => ({
    shape: { B: 1, H, L, Dh: 64 },
    peakBytes,
    ms,
  });

  it('extrapolates quadratically from one point and by the fitted power from two', () => {
    expect(
      extrapolate([point(1024, 8, 100)], { B: 1, H: 8, L: 2048, Dh: 64 }, (p) => p.peakBytes),
    ).toBeCloseTo(400);
    const linear = [point(1024, 8, 100), point(2048, 8, 200)];
    expect(extrapolate(linear, { B: 1, H: 8, L: 4096, Dh: 64 }, (p) => p.peakBytes)).toBeCloseTo(
      400,
    );
    // Dropping from 8 heads to 1 divides the estimate by 8.
    expect(extrapolate(linear, { B: 1, H: 1, L: 4096, Dh: 64 }, (p) => p.peakBytes)).toBeCloseTo(
      50,
    );
  });

  it('stops at the first length whose estimate exceeds the budget, and says so', () => {
    const points = [point(2048, 8, 0.5 * GiB), point(4096, 8, 2 * GiB)];
    const verdict = shouldStop(points, { B: 1, H: 8, L: 8192, Dh: 64 }, limits);
    expect(verdict.stop).toBe(true);
    if (verdict.stop)
      expect(verdict.reason).toMatch(/estimated peak memory 8\.00 GiB > budget 4\.00 GiB/);
    expect(
      shouldStop(points, { B: 1, H: 8, L: 8192, Dh: 64 }, { ...limits, memoryBudget: 16 * GiB })
        .stop,
    ).toBe(false);
  });

  it('lets a linear-memory kernel continue where a quadratic one stops', () => {
    const linear = [point(2048, 8, 1 * GiB), point(4096, 8, 2 * GiB)];
    const quadratic = [point(2048, 8, 0.75 * GiB), point(4096, 8, 3 * GiB)];
    const next = { B: 1, H: 8, L: 8192, Dh: 64 };
    expect(shouldStop(linear, next, { ...limits, memoryBudget: 5 * GiB }).stop).toBe(false);
    expect(shouldStop(quadratic, next, { ...limits, memoryBudget: 5 * GiB }).stop).toBe(true);
  });

  it('counts the inputs and outputs even before any point is measured', () => {
    const huge = { B: 1, H: 8, L: 4 * 1024 * 1024, Dh: 64 };
    expect(ioBytes(huge, false)).toBe(4 * 8 * 4 * 1024 * 1024 * 64 * 4);
    expect(shouldStop([], huge, limits).stop).toBe(true);
    expect(shouldStop([], { B: 1, H: 8, L: 512, Dh: 64 }, limits).stop).toBe(false);
  });

  it('stops when one run is estimated to take longer than the limit', () => {
    const verdict = shouldStop(
      [point(4096, 8, 1000, 40_000)],
      { B: 1, H: 8, L: 8192, Dh: 64 },
      limits,
    );
    expect(verdict.stop).toBe(true);
    if (verdict.stop) expect(verdict.reason).toMatch(/estimated 160 s per run > limit 120 s/);
  });
});
