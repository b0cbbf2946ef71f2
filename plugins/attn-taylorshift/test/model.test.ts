import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM, type EncoderClassifier } from '@weft/nn';
import taylorshift, { taylorShiftStateBytes } from '@weft/attn-taylorshift';

const fakeTemperature = definePlugin({
  name: '@weft/test-fake-temperature',
  version: '0.0.0',
  provides: [positional('fake-temperature', { capabilities: { embed: false, rotate: false, bias: false, logitScale: true }, create: () => ({ logitScale: () => 2 }) })],
});

const base = { vocab: 16, dModel: 32, layers: 1, heads: 4 };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describeWithBackends('taylorshift in models', () => {
  it('a tiny causal LM learns a next-token map (t → 3t + 1 mod 16) with the efficient form (crossover 0): loss falls below 70%; temperatures are trained; no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, taylorshift), { ...base, maxLen: 16, attention: { kind: 'taylorshift', crossover: 0 }, seed: 1 });
    const temps = model.namedParameters().filter(([n]) => /kernel\.temperature$/.test(n));
    expect(temps.map(([, p]) => p.shape)).toEqual([[4]]);
    const data = new Rng(3);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => Array.from({ length: 12 }, () => Math.floor(data.uniform() * 16)));
      return { inputs: tf.tensor2d(rows, [8, 12], 'int32'), targets: tf.tensor2d(rows.map((r) => r.map((t) => (3 * t + 1) % 16)), [8, 12], 'int32') };
    };
    const opt = tf.train.adam(1e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 60);
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    expect(maxDelta(temps[0][1].dataSync(), [1, 1, 1, 1])).toBeGreaterThan(1e-3);
    opt.dispose();
    model.dispose();
  });

  it('a tiny encoder classifier (direct form) learns: loss falls below 70%', async () => {
    const model = buildModel(createRegistry().use(standard, taylorshift), { ...base, task: 'classifier', classes: 2, attention: { kind: 'taylorshift' }, seed: 1 }) as unknown as EncoderClassifier;
    const data = new Rng(9);
    const batch = () => {
      const rows = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => Math.floor(data.uniform() * 16)));
      const labels = rows.map((r) => (r.filter((t) => t < 8).length > 4 ? 1 : 0));
      return { inputs: tf.tensor2d(rows, [16, 8], 'int32'), targets: tf.tensor1d(labels, 'int32') };
    };
    const opt = tf.train.adam(3e-3);
    const rng = new Rng(0);
    const losses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describeWithBackends('taylorshift decoding in a causal LM', () => {
  const config = { vocab: 16, dModel: 16, layers: 2, heads: 2, maxLen: 16 };
  // Forward at 11 tokens: the direct form under the default N0 = 8² + 8 + 1 = 73, the efficient form with crossover 0.
  for (const crossover of [undefined, 0]) {
    it(`model.step == model.forward (${crossover === 0 ? 'efficient' : 'direct'} forward; steps of 4, 3, then 1) from a constant-size kernel state; no leaks`, () => {
      const model = buildModel(createRegistry().use(standard, taylorshift), { ...config, attention: { kind: 'taylorshift', crossover, chunk: 2 }, seed: 7 }) as CausalLM;
      const ids = tf.tensor2d([[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5, 9]], [2, 11], 'int32');
      const full = model.forward(ids);
      const before = tf.memory().numTensors;
      const cache = model.initCache(2);
      // 2 layers × S [B, Hkv, F, 1 + Dh] float32, B = 2, Hkv = 2, Dh = 16 / 2 = 8, F = 1 + 8 + 64 = 73.
      const perLayer = 4 * 2 * 2 * 73 * 9;
      expect(taylorShiftStateBytes(2, 2, 8)).toBe(perLayer);
      const bytes = [cache.bytes()];
      const parts: Tensor[] = [];
      for (const [start, n] of [[0, 4], [4, 3], [7, 1], [8, 1], [9, 1], [10, 1]]) {
        const chunk = ids.slice([0, start], [2, n]);
        parts.push(model.step(chunk, cache));
        bytes.push(cache.bytes());
        chunk.dispose();
      }
      expect(bytes).toEqual(bytes.map(() => 2 * perLayer));
      const stepped = tf.concat(parts, 1);
      expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([stepped, ...parts]);
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([ids, full]);
      model.dispose();
    });
  }

  it('greedy generate agrees with and without the cache', () => {
    const model = buildModel(createRegistry().use(standard, taylorshift), { ...config, attention: { kind: 'taylorshift' }, seed: 6 }) as CausalLM;
    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });
});

function maxDelta(a: ArrayLike<number>, b: number[]): number {
  return Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
}

describe('taylorshift: config-time errors', () => {
  it('refuses a logit-scaling positional encoding when normalizeInput is on, and says how to fix it', () => {
    const build = (normalizeInput: boolean) => () =>
      buildModel(createRegistry().use(standard, taylorshift, fakeTemperature), { ...base, positional: { kind: 'fake-temperature' }, attention: { kind: 'taylorshift', normalizeInput } });
    expect(build(true)).toThrow(IncompatibleError as never);
    expect(build(true)).toThrow(/"fake-temperature" rescales attention logits, but taylorshift with normalizeInput: true replaces the logit scale.*Set normalizeInput: false/);
    const model = build(false)();
    model.dispose();
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, taylorshift);
    expect(() => registry.validate('attention', { kind: 'taylorshift', crossover: -1 }, 'attention')).toThrow(/attention\.crossover: crossover must be ≥ 0.*got -1/);
    expect(() => registry.validate('attention', { kind: 'taylorshift', normalizeInput: 'yes' }, 'attention')).toThrow(/attention\.normalizeInput: normalizeInput must be true or false/);
  });
});
