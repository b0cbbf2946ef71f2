import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf } from '@weft/core';
import t5Bias, { relativePositionBucket, T5RelativeBias, VERSION } from '@weft/pos-t5-bias';
import { describeWithBackends } from '@weft/core/testing';

// Worked by hand from the T5 bucketing rule (r = key - query).
// Causal, N = 32, M = 128: N' = 32, E = 16; n = max(-r, 0); n >= 16 -> 16 + floor(log(n/16)/log(8) * 16).
const CAUSAL: Array<[number, number]> = [
  [5, 0], [1, 0], [0, 0], // the future and the present: distance 0
  [-1, 1], [-7, 7], [-15, 15], // exact region
  [-16, 16], [-20, 17], [-23, 18], [-24, 19], [-32, 21], [-64, 26], [-100, 30], [-127, 31], // log region
  [-128, 31], [-129, 31], [-5000, 31], // clamped
];
// Bidirectional, N = 32, M = 128: 16 per sign, E = 8; n >= 8 -> 8 + floor(log(n/8)/log(16) * 8); r > 0 adds 16.
const BIDIRECTIONAL: Array<[number, number]> = [
  [0, 0], [-1, 1], [-7, 7], // exact, past
  [-8, 8], [-12, 9], [-16, 10], [-31, 11], [-32, 12], [-63, 13], [-64, 14], [-100, 15], [-127, 15], // log, past
  [-128, 15], [-1000, 15], // clamped, past
  [1, 17], [7, 23], [8, 24], [15, 25], [16, 26], [127, 31], [128, 31], [9999, 31], // future: upper half
];

describe('T5 relative position buckets', () => {
  it('causal (32 buckets, max distance 128): hand-written table', () => {
    for (const [r, b] of CAUSAL) expect([r, relativePositionBucket(r, { numBuckets: 32, maxDistance: 128, bidirectional: false })]).toEqual([r, b]);
  });

  it('bidirectional (16 per sign, max distance 128): hand-written table', () => {
    for (const [r, b] of BIDIRECTIONAL) expect([r, relativePositionBucket(r, { numBuckets: 32, maxDistance: 128, bidirectional: true })]).toEqual([r, b]);
  });

  it('VERSION equals package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });

  it('bad options fail at config time with the field, the value and the fix', () => {
    const registry = createRegistry().use(t5Bias);
    expect(() => registry.validate('positional', { kind: 't5-bias', numBuckets: 2, bidirectional: true }, 'positional')).toThrow(
      /positional\.numBuckets: bidirectional bucketing splits numBuckets between the two directions and needs at least 4; raise numBuckets \(T5: 32\) or set bidirectional: false; got 2/,
    );
    expect(() => registry.validate('positional', { kind: 't5-bias', maxDistance: 16 }, 'positional')).toThrow(
      /positional\.maxDistance: must exceed the exact-bucket region \(16 = 32 buckets per direction \/ 2\).*raise maxDistance \(T5: 128\) or lower numBuckets; got 16/,
    );
    expect(() => registry.validate('positional', { kind: 't5-bias', numBuckets: 32.5 }, 'positional')).toThrow(/positional\.numBuckets: .*got 32\.5/);
    expect(() => registry.validate('positional', { kind: 't5-bias', numBucket: 32 }, 'positional')).toThrow(/has no option "numBucket".*Did you mean "numBuckets"/);
    expect(registry.validate('positional', { kind: 't5-bias' })).toEqual({ kind: 't5-bias', numBuckets: 32, maxDistance: 128, bidirectional: false, perLayer: false });
  });
});

describeWithBackends('T5 bucket tensors', () => {
  for (const bidirectional of [false, true]) {
    it(`${bidirectional ? 'bidirectional' : 'causal'}: the tensor path agrees with the hand table for every row of it`, () => {
      const table = bidirectional ? BIDIRECTIONAL : CAUSAL;
      const enc = new T5RelativeBias({ numBuckets: 32, maxDistance: 128, bidirectional, heads: 2, initStd: 1 }, new Rng(0));
      // query at position 10000, keys at 10000 + r
      const q = tf.tensor2d([[10000]], [1, 1], 'int32');
      const k = tf.tensor2d([table.map(([r]) => 10000 + r)], [1, table.length], 'int32');
      const ids = enc.buckets(q, k);
      expect(ids.dtype).toBe('int32');
      expect(Array.from(ids.dataSync())).toEqual(table.map(([, b]) => b));
      tf.dispose([q, k, ids]);
      enc.dispose();
    });
  }
});
