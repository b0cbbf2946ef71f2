import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext, mixerConformance, trainOnCounting } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import deltanet, { VERSION, type DeltaNetMixer } from '../src/index.js';

const registry = createRegistry().use(deltanet);
const make = (dModel: number, heads: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'deltanet', ...opts }, { dims: { dModel, heads }, rng: new Rng(seed) }) as DeltaNetMixer;

mixerConformance('deltanet (chunkSize 3)', () => make(8, 2, { chunkSize: 3 }), { causal: true, decode: true }, { dModel: 8, L: 10 });
mixerConformance('deltanet (identity φ, β = 1)', () => make(8, 2, { qkActivation: 'identity', useBeta: false }), { causal: true, decode: true }, { dModel: 8, L: 10 });

describe('deltanet layer', () => {
  beforeAll(() => useBackend('cpu'));

  it('matches the PyTorch port of the layer, chunked forward and step', () => {
    const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'layer.json'), 'utf8'));
    const m = make(fx.D, fx.H, { chunkSize: 4 });
    const state: Record<string, tf.Tensor> = {};
    for (const [name, { shape, values }] of Object.entries(fx.params as Record<string, { shape: number[]; values: number[] }>)) {
      state[name] = shape.length === 2 ? tf.transpose(tf.tensor(values, shape)) : tf.tensor(values, shape); // [out, in] -> [in, out]
    }
    m.loadStateDict(state);
    const x = tf.tensor(fx.x, [fx.B, fx.T, fx.D]);
    const ctx = makeForwardContext(fx.B, fx.T);
    const y = m.forward(x, ctx);
    expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
    const [ys, st] = m.step(x, m.initState(fx.B), { training: false, rng: new Rng(0), layerIndex: 0, positions: ctx.positions, scratch: new Map() });
    expectTensorsClose(ys, fx.y, { atol: 1e-5, rtol: 1e-5 });
    st.dispose();
    tf.dispose([x, y, ys, ctx.positions, ...Object.values(state)]);
    m.dispose();
  });

  it('gives the same outputs for every chunk size', () => {
    const x = new Rng(7).normalTensor([2, 9, 8]);
    const ctx = makeForwardContext(2, 9);
    const ys = [1, 2, 3, 9, 64].map((c) => {
      const m = make(8, 2, { chunkSize: c }, 5);
      const y = m.forward(x, ctx);
      m.dispose();
      return y;
    });
    for (const y of ys.slice(1)) expectTensorsClose(y, ys[0], { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x, ctx.positions, ...ys]);
  });
});

describe('training', () => {
  beforeAll(() => useBackend('wasm'));
  it('a tiny DeltaNet LM learns without leaking, and decodes with its state', async () => {
    const model = buildModel(createRegistry().use(standard).use(deltanet), {
      vocab: 8, dModel: 16, layers: 1, heads: 2, positional: 'none', mixer: { kind: 'deltanet', chunkSize: 4 }, seed: 1,
    }) as CausalLM;
    const losses = await trainOnCounting(model, { steps: 30, lr: 0.03, seed: 2, batch: 8, length: 8, vocab: 8 });
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
    const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
    const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });
});

describe('config and compatibility errors', () => {
  it('names the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'deltanet', chunkSize: 0 }, 'mixer')).toThrow(/mixer\.chunkSize: chunkSize must be >= 1.*paper uses 64.*got 0/s);
    expect(() => registry.validate('mixer', { kind: 'deltanet', chunkSize: 2.5 }, 'mixer')).toThrow(/mixer\.chunkSize: chunkSize must be a whole number.*got 2\.5/s);
    expect(() => registry.validate('mixer', { kind: 'deltanet', qkActivation: 'relu' }, 'mixer')).toThrow(/mixer\.qkActivation: qkActivation must be "silu" or "identity".*got "relu"/s);
    expect(() => registry.validate('mixer', { kind: 'deltanet', chunk: 8 }, 'mixer')).toThrow(/mixer\.chunk: mixer "deltanet" has no option "chunk" \(options: chunkSize, qkActivation, useBeta\)/);
    try {
      registry.validate('mixer', { kind: 'deltanet', useBeta: 1 }, 'mixer');
      throw new Error('unreachable');
    } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
    }
  });

  it('refuses a bidirectional model, and heads that do not divide dModel', () => {
    const cfg = registry.validate('mixer', { kind: 'deltanet' }, 'mixer');
    expect(() => registry.check('mixer', cfg, { path: 'mixer', causal: false })).toThrow(/mixer: mixer "deltanet" is a causal recurrence.*Use it in a causal-lm model/);
    try {
      registry.check('mixer', cfg, { path: 'm', causal: false });
      throw new Error('unreachable');
    } catch (e) {
      expect(IncompatibleError.isInstance(e)).toBe(true);
    }
    expect(() => make(10, 4)).toThrow(/dModel 10 is not divisible by heads 4; choose heads dividing dModel/);
  });

  it('exports the package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(deltanet.version).toBe(VERSION);
  });
});
