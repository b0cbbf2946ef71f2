/** GEAR: reconstruction error against quantisation alone, exact byte formula, decoding in a model, errors. */
import { ConfigError, createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks, kvCacheConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import gear, { gearCompress, gearReconstruct, compressedBytes, GearKVCacheFactory, type GearSettings, type GearKVCache } from '../src/index.js';

const registry = () => createRegistry().use(standard, gear);

/** A KV-like matrix [n, d]: rank-2 structure + small noise + a few large outliers. */
function kvLike(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const u = Array.from({ length: 2 * n }, () => rng.normal());
  const w = Array.from({ length: 2 * d }, () => rng.normal());
  const x = Float32Array.from({ length: n * d }, (_, e) => {
    const [i, j] = [Math.floor(e / d), e % d];
    return u[2 * i] * w[2 * j] + u[2 * i + 1] * w[2 * j + 1] + 0.3 * rng.normal();
  });
  for (let t = 0; t < 4; t++) x[(t * 37) % (n * d)] = (t % 2 ? -1 : 1) * 12;
  return x;
}

/** Plain b-bit min/max quantisation per token row, written independently. */
function quantizeByHand(x: Float32Array, n: number, d: number, bits: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = Array.from(x.subarray(i * d, (i + 1) * d));
    const lo = Math.min(...row), hi = Math.max(...row);
    const step = Math.fround((hi - lo) / (2 ** bits - 1));
    row.forEach((v, j) => (out[i * d + j] = Math.fround(lo) + (step > 0 ? Math.round((v - Math.fround(lo)) / step) : 0) * step));
  }
  return out;
}

const relErr = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let e = 0; e < x.length; e++) [num, den] = [num + (x[e] - y[e]) ** 2, den + x[e] ** 2];
  return Math.sqrt(num / den);
};

describe('GEAR compression (Algorithm 1)', () => {
  const n = 16, d = 8, bits = 3;
  const x = kvLike(n, d, 1);
  const s = (rank: number, outlierPercent: number): GearSettings => ({ bits, rank, outlierPercent, axis: 'token', iters: 4, seed: 0 });
  const err = (rank: number, outlierPercent: number) => relErr(x, gearReconstruct(gearCompress(x, n, d, s(rank, outlierPercent))));

  it('with r = 0 and s = 0 it is plain per-token uniform quantisation', () => {
    const ref = quantizeByHand(x, n, d, bits);
    const rec = gearReconstruct(gearCompress(x, n, d, s(0, 0)));
    rec.forEach((v, e) => expect(v).toBeCloseTo(ref[e], 5));
  });

  it('the low-rank residual and the outliers each beat quantisation alone, and the error falls with r and s', () => {
    const quantOnly = relErr(x, quantizeByHand(x, n, d, bits));
    expect(err(0, 0)).toBeCloseTo(quantOnly, 5);
    expect(err(2, 0)).toBeLessThan(quantOnly);
    expect(err(4, 0)).toBeLessThan(err(2, 0));
    expect(err(0, 3)).toBeLessThan(quantOnly);
    expect(err(0, 6)).toBeLessThan(err(0, 3));
    expect(err(4, 6)).toBeLessThan(Math.min(err(4, 0), err(0, 6)));
    expect(err(4, 6)).toBeLessThan(quantOnly / 3); // the outliers inflate every row's range
  });

  it('outliers are the top-s% entries by magnitude, stored exactly', () => {
    const c = gearCompress(x, n, d, s(0, 3)); // ⌊0.03·128⌋ = 3 outliers
    const byHand = Array.from(x.keys()).sort((a, b) => Math.abs(x[b]) - Math.abs(x[a])).slice(0, 3).sort((a, b) => a - b);
    expect(Array.from(c.outIndex)).toEqual(byHand);
    expect(Array.from(c.outValue)).toEqual(byHand.map((e) => x[e]));
  });

  it('stored bytes = ⌈n·d·b/8⌉ + 2·G·4 + r·(n + d)·4 + 8·⌊s·n·d/100⌋ (G = n per token, d per channel)', () => {
    for (const [axis, G] of [['token', n], ['channel', d]] as const) {
      const c = gearCompress(x, n, d, { ...s(3, 5), axis });
      expect(compressedBytes(c)).toBe(Math.ceil((n * d * bits) / 8) + 2 * G * 4 + 3 * (n + d) * 4 + 8 * Math.floor((5 * n * d) / 100));
    }
    // vs float32: 512 bytes; here 48 + 128 + 288 + 48.
    expect(compressedBytes(gearCompress(x, n, d, s(3, 5)))).toBe(48 + 128 + 288 + 48);
  });
});

describe('GEAR cache', () => {
  beforeAll(() => useBackend('cpu'));
  const settings = { bits: 4, rank: 1, outlierPercent: 5, axis: 'token' as const, iters: 3, seed: 0, buffer: 4 };

  it('compresses every full buffer of n_b tokens; bytes = chunks + 2·B·Hkv·nbuf·Dh·4 + B·Lc·4', () => {
    const [B, Hkv, Dh, L] = [2, 2, 8, 11];
    const cache = new GearKVCacheFactory(settings).create(B, { kvHeads: Hkv, headDim: Dh }) as GearKVCache;
    const rng = new Rng(2);
    const k = rng.normalTensor([B, Hkv, L, Dh]);
    const v = rng.normalTensor([B, Hkv, L, Dh]);
    const p = tf.tidy(() => tf.add(tf.zeros([B, L], 'int32'), tf.range(0, L, 1, 'int32')));
    cache.append(k, v, p);
    expect([cache.length, cache.compressedLength]).toEqual([11, 8]);
    const chunk = Math.ceil((4 * Dh * 4) / 8) + 2 * 4 * 4 + 1 * (4 + Dh) * 4 + 8 * Math.floor((5 * 4 * Dh) / 100);
    expect(cache.bytes()).toBe(2 * 2 * B * Hkv * chunk + 2 * B * Hkv * 3 * Dh * 4 + B * L * 4);
    // The 3 buffered tokens come back exactly, the compressed ones approximately.
    const keys = cache.keys();
    const tail = (t: tf.Tensor) => tf.tidy(() => Array.from(tf.slice(t, [0, 0, 8, 0], [B, Hkv, 3, Dh]).dataSync()));
    expect(tail(keys)).toEqual(tail(k));
    expect(tf.tidy(() => relErr(k.dataSync(), keys.dataSync()))).toBeLessThan(0.15);
    tf.dispose([k, v, p]);
    cache.dispose();
  });
});

kvCacheConformance('gear', () => new GearKVCacheFactory({ bits: 4, rank: 1, outlierPercent: 5, axis: 'token', iters: 2, seed: 0, buffer: 2 }), { lossy: true });

describe('GEAR in a model', () => {
  beforeAll(() => useBackend('wasm'));
  const config = (kvCache: Record<string, unknown>) => ({ vocab: 13, dModel: 32, layers: 2, heads: 2, kvCache, seed: 7 });
  const ids = Array.from({ length: 20 }, (_, i) => (i * 5 + 3) % 13);

  function decodeRelErr(kvCache: Record<string, unknown>): number {
    const model = buildModel(registry(), config(kvCache)) as CausalLM;
    const full = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'));
    const cache = model.initCache(1);
    const outs = ids.map((id) => {
      const x = tf.tensor2d([[id]], [1, 1], 'int32');
      const y = model.step(x, cache);
      x.dispose();
      return y;
    });
    const stepped = tf.concat(outs, 1);
    const e = relErr(full.dataSync(), stepped.dataSync());
    tf.dispose([full, stepped, ...outs]);
    cache.dispose();
    model.dispose();
    return e;
  }

  it('decode logits stay within 0.5% (relative L2) of exact decoding at 4 bits, r = 2, s = 2% and tighter at 8 bits', () => {
    const e4 = decodeRelErr({ kind: 'gear', bits: 4, rank: 2, outlierPercent: 2, buffer: 4 });
    const e8 = decodeRelErr({ kind: 'gear', bits: 8, rank: 2, outlierPercent: 2, buffer: 4 });
    const crude = decodeRelErr({ kind: 'gear', bits: 1, rank: 0, outlierPercent: 0, buffer: 4 });
    expect(e4).toBeGreaterThan(0); // lossy
    expect(e4).toBeLessThan(0.005);
    expect(crude).toBeGreaterThan(0.005); // the bound is not vacuous on this model
    expect(e8).toBeLessThan(e4);
  });

  it('decodes without leaks', async () => {
    const model = buildModel(registry(), config({ kind: 'gear', buffer: 2 })) as CausalLM;
    const cache = model.initCache(2);
    await expectNoLeaks(() => {
      const x = tf.tensor2d([[1], [2]], [2, 1], 'int32');
      tf.dispose([model.step(x, cache), x]);
    }, 6);
    cache.dispose();
    model.dispose();
  });

  it('bad options name the field, the value and the fix', () => {
    const v = (o: Record<string, unknown>) => () => registry().validate('kvCache', { kind: 'gear', ...o }, 'kvCache');
    expect(v({ bits: 9 })).toThrow(ConfigError);
    expect(v({ bits: 9 })).toThrow(/kvCache\.bits/);
    expect(v({ outlierPercent: 100 })).toThrow(/kvCache\.outlierPercent/);
    expect(v({ rank: -1 })).toThrow(/kvCache\.rank/);
    expect(v({ buffer: 0 })).toThrow(/kvCache\.buffer/);
    expect(v({ axis: 'head' })).toThrow(/kvCache\.axis/);
    expect(() => buildModel(registry(), config({ kind: 'gear', bits: 2.5 }))).toThrow(/2\.5/);
  });
});
