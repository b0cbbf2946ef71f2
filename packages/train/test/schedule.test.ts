import { ConfigError } from '@weft/core';
import { constantSchedule, cosineSchedule, learningRateAt } from '../src/index.js';

describe('schedules', () => {
  it('constant: linear warmup to lr, then lr', () => {
    const s = constantSchedule(0.01, { warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 100].map((t) => learningRateAt(s, t))).toEqual([
      0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01,
    ]);
    expect(learningRateAt(constantSchedule(0.3), 0)).toBe(0.3);
  });

  it('cosine: warmup, peak, midpoint, floor and after', () => {
    const s = cosineSchedule({ lr: 1, warmupSteps: 10, decaySteps: 110, minLrRatio: 0.1 });
    expect(learningRateAt(s, 0)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(s, 4)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(s, 9)).toBeCloseTo(1, 12);
    expect(learningRateAt(s, 10)).toBeCloseTo(1, 12);
    // Halfway through the decay the cosine term is 0.5: 0.1 + 0.5·0.9.
    expect(learningRateAt(s, 60)).toBeCloseTo(0.55, 12);
    // A quarter of the way: 0.1 + 0.9·(1 + cos(π/4))/2.
    expect(learningRateAt(s, 35)).toBeCloseTo(0.1 + 0.45 * (1 + Math.SQRT1_2), 12);
    expect(learningRateAt(s, 110)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(s, 500)).toBeCloseTo(0.1, 12);
  });

  it('cosine without warmup starts at lr and decays to zero when minLrRatio is 0', () => {
    const s = cosineSchedule({ lr: 2e-3, decaySteps: 100, minLrRatio: 0 });
    expect(learningRateAt(s, 0)).toBe(2e-3);
    expect(learningRateAt(s, 100)).toBeCloseTo(0, 15);
  });

  it('refuses impossible settings with the field and a fix', () => {
    expect(() => constantSchedule(-1)).toThrow(ConfigError);
    expect(() => cosineSchedule({ lr: 1, decaySteps: 0 })).toThrow(
      /schedule\.decaySteps: got 0 \(number\); use the total number of training steps/,
    );
    expect(() => cosineSchedule({ lr: 1, decaySteps: 10, minLrRatio: 2 })).toThrow(
      /schedule\.minLrRatio/,
    );
    expect(() => constantSchedule(1, { warmupSteps: 2.5 })).toThrow(/schedule\.warmupSteps/);
  });
});
