import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import nystrom from '@weft/attn-nystrom';

const base = { vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 8 };

describeWithBackends('nystrom in a classifier', () => {
  it('a tiny encoder classifier (m = 4 landmarks, conv skip) learns: loss falls below 70%; the conv weight is a model parameter; no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, nystrom), { ...base, task: 'classifier', classes: 2, attention: { kind: 'nystrom', landmarks: 4, convKernelSize: 3 }, seed: 1 }) as unknown as EncoderClassifier;
    expect(model.namedParameters().filter(([n]) => /kernel\.conv\.weight$/.test(n)).map(([, p]) => p.shape)).toEqual([[4, 3]]);
    const data = new Rng(9);
    const batch = () => {
      const rows = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => Math.floor(data.uniform() * 16)));
      const labels = rows.map((r) => (r.filter((t) => t < 8).length > 4 ? 1 : 0)); // label: more than half of the tokens are < 8
      return { inputs: tf.tensor2d(rows, [16, 8], 'int32'), targets: tf.tensor1d(labels, 'int32') };
    };
    const opt = tf.train.adam(3e-3);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 80);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('nystrom: config-time errors', () => {
  it('refuses a causal language model (bidirectional only)', () => {
    const build = () => buildModel(createRegistry().use(standard, nystrom), { ...base, attention: { kind: 'nystrom' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/attention kernel "nystrom" cannot do causal attention, but this model is causal/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, nystrom);
    expect(() => registry.validate('attention', { kind: 'nystrom', landmarks: 0 }, 'attention')).toThrow(/attention\.landmarks: landmarks must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'nystrom', pinvIterations: 1.5 }, 'attention')).toThrow(/attention\.pinvIterations: pinvIterations must be a whole number/);
    expect(() => registry.validate('attention', { kind: 'nystrom', pinvInit: 'svd' }, 'attention')).toThrow(/attention\.pinvInit: pinvInit must be "original" \(reference default\) or "exact"/);
    expect(() => registry.validate('attention', { kind: 'nystrom', convKernelSize: -3 }, 'attention')).toThrow(/attention\.convKernelSize: convKernelSize must be at least 1/);
    expect(() => registry.validate('attention', { kind: 'nystrom', convKernelSize: 4 }, 'attention')).toThrow(/attention\.convKernelSize: convKernelSize must be odd.*use e\.g\. 33.*got 4/);
  });
});
