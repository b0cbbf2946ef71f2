import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import taylorshift from '@weft/attn-taylorshift';

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
