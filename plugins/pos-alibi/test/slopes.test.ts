import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alibiSlopes, VERSION } from '@weft/pos-alibi';

// Hand-written from the paper (§3) and its reference code: powers of two are 2^(-8h/H);
// other H take the lower power of two's slopes, then every other slope of twice that power.
const EXPECTED: Record<number, number[]> = {
  1: [1 / 256],
  2: [1 / 16, 1 / 256],
  4: [1 / 4, 1 / 16, 1 / 64, 1 / 256],
  6: [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8],
  8: [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256],
  12: [
    1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256,
    0.7071067811865476, 0.3535533905932738, 0.1767766952966369, 0.08838834764831845, // 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5
  ],
};

describe('ALiBi slopes', () => {
  for (const [H, expected] of Object.entries(EXPECTED)) {
    it(`H = ${H}`, () => {
      const got = alibiSlopes(Number(H));
      expect(got).toHaveLength(expected.length);
      got.forEach((m, h) => expect(m).toBeCloseTo(expected[h], 14));
    });
  }

  it('rejects a non-positive or fractional head count', () => {
    expect(() => alibiSlopes(0)).toThrow('alibiSlopes: heads must be a positive integer; got 0');
    expect(() => alibiSlopes(2.5)).toThrow(/got 2.5/);
  });

  it('VERSION equals package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
