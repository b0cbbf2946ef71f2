/** Giraffe's scalings: reduce to pos-rope exactly, match hand-computed formulas, conform. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_DIMS, Rng, createRegistry, tf, type PositionalEncoding } from '@weft/core';
import { describeWithBackends, expectTensorsClose, positionalConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import rope from '@weft/pos-rope';
import scaling, { VERSION, giraffeFrequencies } from '../src/index.js';

const Dh = 8;
const dims = { ...DEFAULT_DIMS, heads: 2, headDim: Dh, dModel: 16 };
const registry = createRegistry().use(rope, scaling);
const make = (config: object) => registry.create('positional', config as { kind: string }, { dims }) as PositionalEncoding;

/** Rotate plane i of every row by angle (m / s)·θ_i — written from the formula, float64. */
function naiveRotate(x: ArrayLike<number>, shape: number[], positions: ArrayLike<number>, theta: number[], s: number): Float64Array {
  const [B, H, L, D] = shape;
  const out = Float64Array.from(x);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let l = 0; l < L; l++) {
        const ang = positions[b * L + l] / s;
        const row = ((b * H + h) * L + l) * D;
        theta.forEach((t, i) => {
          const [xa, xb] = [x[row + 2 * i], x[row + 2 * i + 1]];
          out[row + 2 * i] = xa * Math.cos(ang * t) - xb * Math.sin(ang * t);
          out[row + 2 * i + 1] = xa * Math.sin(ang * t) + xb * Math.cos(ang * t);
        });
      }
  return out;
}

describeWithBackends('pos-rope-scaling', () => {
  const rng = new Rng(21);
  let q: tf.Tensor, k: tf.Tensor, qPos: tf.Tensor, kPos: tf.Tensor;
  beforeAll(() => {
    q = rng.normalTensor([2, 2, 3, Dh]);
    k = rng.normalTensor([2, 1, 5, Dh]);
    qPos = tf.tensor2d([[9, 10, 11], [300, 301, 302]], [2, 3], 'int32');
    kPos = tf.tensor2d([[0, 2, 4, 6, 8], [290, 292, 294, 296, 298]], [2, 5], 'int32');
  });
  afterAll(() => tf.dispose([q, k, qPos, kPos]));
  const run = (enc: PositionalEncoding) => enc.rotate!(q, k, qPos, kPos, undefined as never);

  for (const [label, config] of [
    ['linear, scale 1', { kind: 'rope-scaling', method: 'linear', scale: 1 }],
    ['power, k = 0', { kind: 'rope-scaling', method: 'power', power: 0 }],
    ['truncated, scale 1, with every θ ≥ b (nothing truncated)', { kind: 'rope-scaling', method: 'truncated', a: 0, b: 1e-9, rho: 0.5 }],
  ] as const) {
    it(`${label}: equals @weft/pos-rope exactly (both layouts)`, () => {
      for (const layout of ['interleaved', 'half-split']) {
        const [a1, a2] = run(make({ ...config, layout }));
        const [b1, b2] = run(make({ kind: 'rope', layout }));
        expectTensorsClose(a1, b1, { atol: 0, rtol: 0 });
        expectTensorsClose(a2, b2, { atol: 0, rtol: 0 });
        tf.dispose([a1, a2, b1, b2]);
      }
    });
  }

  it('hand-computed bases for d = 8, base 10000 (θ = 1, 0.1, 0.01, 0.001)', () => {
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
    close(giraffeFrequencies('linear', 8, 10000), [1, 0.1, 0.01, 0.001]);
    // power k = 2: θ_i·(1 − 2i/8)^2 = 1·1, 0.1·0.5625, 0.01·0.25, 0.001·0.0625
    close(giraffeFrequencies('power', 8, 10000, { power: 2 }), [1, 0.05625, 0.0025, 0.0000625]);
    // truncated a = 0.005, b = 0.05, ρ = 0.002: 1 ≥ b kept, 0.1 ≥ b kept, 0.01 in (a, b) -> ρ, 0.001 ≤ a -> 0
    close(giraffeFrequencies('truncated', 8, 10000, { a: 0.005, b: 0.05, rho: 0.002 }), [1, 0.1, 0.002, 0]);
    // with a linear scale s = 4 every ω_i carries 1/s: linear θ/4, power θ(1 − 2i/8)^2 / 4
    close(giraffeFrequencies('linear', 8, 10000, { scale: 4 }), [0.25, 0.025, 0.0025, 0.00025]);
    close(giraffeFrequencies('power', 8, 10000, { power: 2, scale: 4 }), [0.25, 0.0140625, 0.000625, 0.000015625]);
    // truncated, s = 4: the cutoffs compare u = θ/4 = 0.25, 0.025, 0.0025, 0.00025 (a = 0.001, b = 0.05, ρ = 0.0004):
    // 0.25 ≥ b kept (as 0.25), 0.025 and 0.0025 in [a, b) -> ρ (not divided by s), 0.00025 < a -> 0
    close(giraffeFrequencies('truncated', 8, 10000, { a: 0.001, b: 0.05, rho: 0.0004, scale: 4 }), [0.25, 0.0004, 0.0004, 0]);
    // boundaries: u = b is kept, u = a joins the ρ band
    close(giraffeFrequencies('truncated', 8, 10000, { a: 0.001, b: 0.1, rho: 0.0004 }), [1, 0.1, 0.0004, 0.0004]);
  });

  it('truncated with nothing truncated (b below every θ_i/s) equals linear scaling with the same s, exactly', () => {
    const [a1, a2] = run(make({ kind: 'rope-scaling', method: 'truncated', a: 0, b: 1e-9, rho: 0.5, scale: 3 }));
    const [b1, b2] = run(make({ kind: 'rope-scaling', method: 'linear', scale: 3 }));
    expectTensorsClose(a1, b1, { atol: 0, rtol: 0 });
    expectTensorsClose(a2, b2, { atol: 0, rtol: 0 });
    tf.dispose([a1, a2, b1, b2]);
  });

  it('linear scale s rotates by (m/s)·θ_i (position interpolation)', () => {
    const [q2, k2] = run(make({ kind: 'rope-scaling', method: 'linear', scale: 4 }));
    const theta = [1, 0.1, 0.01, 0.001];
    expectTensorsClose(q2, naiveRotate(q.dataSync(), q.shape, qPos.dataSync(), theta, 4), { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(k2, naiveRotate(k.dataSync(), k.shape, kPos.dataSync(), theta, 4), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q2, k2]);
  });

  it('power basis rotates by m·θ_i(1 − 2i/d)^k; truncated basis by the hand-computed θ′ (and θ′ = 0 planes pass through)', () => {
    const [p1, p2] = run(make({ kind: 'rope-scaling', method: 'power', power: 2, scale: 2 }));
    expectTensorsClose(p1, naiveRotate(q.dataSync(), q.shape, qPos.dataSync(), [1, 0.05625, 0.0025, 0.0000625], 2), { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(p2, naiveRotate(k.dataSync(), k.shape, kPos.dataSync(), [1, 0.05625, 0.0025, 0.0000625], 2), { atol: 1e-5, rtol: 1e-4 });
    const [t1, t2] = run(make({ kind: 'rope-scaling', method: 'truncated', a: 0.005, b: 0.05, rho: 0.002 }));
    expectTensorsClose(t1, naiveRotate(q.dataSync(), q.shape, qPos.dataSync(), [1, 0.1, 0.002, 0], 1), { atol: 1e-5, rtol: 1e-4 });
    const lastPlane = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 6], [-1, -1, -1, 2]);
    const [x, y] = [lastPlane(t2), lastPlane(k)];
    expectTensorsClose(x, y, { atol: 0, rtol: 0 });
    tf.dispose([p1, p2, t1, t2, x, y]);
  });

  positionalConformance('rope-scaling (power)', () => make({ kind: 'rope-scaling', method: 'power', power: 1, scale: 2 }), dims);
  positionalConformance('rope-scaling (truncated)', () => make({ kind: 'rope-scaling', method: 'truncated', a: 0.005, b: 0.05, rho: 0.002, layout: 'half-split' }), dims);

  it('in a model (the README "Use" snippet): cached decoding equals the full forward pass', () => {
    // --- README snippet ---
    const model = buildModel(createRegistry().use(standard, scaling), {
      vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 64,
      positional: { kind: 'rope-scaling', method: 'truncated', a: 0.005, b: 0.05, rho: 0.002, scale: 2 },
    }) as CausalLM;
    // --- end snippet ---
    const ids = [1, 5, 2, 8, 3, 11];
    const full = model.forward(tf.tensor2d([ids], [1, 6], 'int32'));
    const cache = model.initCache(1);
    const parts = [model.step(tf.tensor2d([ids.slice(0, 3)], [1, 3], 'int32'), cache)];
    for (let t = 3; t < 6; t++) parts.push(model.step(tf.tensor2d([[ids[t]]], [1, 1], 'int32'), cache));
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([full, stepped, ...parts]);
    cache.dispose();
    model.dispose();
  });
});

describe('pos-rope-scaling config', () => {
  const msg = (config: object): string => {
    try {
      registry.validate('positional', config, 'positional');
    } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };
  it('names the missing field and shows a fix', () => {
    expect(msg({ kind: 'rope-scaling', method: 'power' })).toMatch(/positional\.power.*"power": 2/s);
    expect(msg({ kind: 'rope-scaling', method: 'truncated', a: 0.01 })).toMatch(/positional\.b.*positional\.rho/s);
    expect(msg({ kind: 'rope-scaling', method: 'truncated', a: 0.1, b: 0.05, rho: 0 })).toMatch(/positional\.b.*a < b.*a = 0\.1/s);
    expect(msg({ kind: 'rope-scaling', scale: 0 })).toMatch(/positional\.scale.*> 0.*got 0/s);
    expect(msg({ kind: 'rope-scaling', method: 'linear', power: 2 })).toMatch(/positional\.power.*no effect.*"linear"/s);
  });
  it('defaults round-trip; VERSION equals package.json', () => {
    expect(registry.validate('positional', { kind: 'rope-scaling' })).toEqual({ kind: 'rope-scaling', method: 'linear', scale: 1, base: 10000, fraction: 1, layout: 'interleaved' });
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
