import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, EncoderClassifier, standard } from '@weft/nn';
import bigbird from '@weft/attn-bigbird';

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('bigbird in a classifier', () => {
  it('a tiny encoder classifier on the sparse path (L = 16 > (5 + 2r)·b = 14) learns, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, bigbird), {
      task: 'classifier', classes: 2, vocab: 16, dModel: 32, layers: 1, heads: 2, maxLen: 16, seed: 1,
      attention: { kind: 'bigbird', blockSize: 2, numRandomBlocks: 1 },
    }) as unknown as EncoderClassifier;
    const data = new Rng(9);
    const batch = () => {
      // Class c draws 80% of its tokens from its own half of the vocabulary.
      const labels = Array.from({ length: 16 }, () => (data.uniform() < 0.5 ? 1 : 0));
      const rows = labels.map((c) => Array.from({ length: 16 }, () => (data.uniform() < 0.8 ? c * 8 : (1 - c) * 8) + Math.floor(data.uniform() * 8)));
      return { inputs: tf.tensor2d(rows, [16, 16], 'int32'), targets: tf.tensor1d(labels, 'int32') };
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
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('bigbird: config-time errors', () => {
  const registry = createRegistry().use(standard, bigbird);
  it('refuses a causal language model (ITC is bidirectional)', () => {
    const build = () => buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'bigbird' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/attention kernel "bigbird" cannot do causal attention, but this model is causal/);
  });
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'bigbird', blockSize: 0 }, 'attention')).toThrow(/attention\.blockSize: blockSize must be ≥ 1, e\.g\. 64.*got 0/);
    expect(() => registry.validate('attention', { kind: 'bigbird', blockSize: 1.5 }, 'attention')).toThrow(/attention\.blockSize: blockSize must be a whole number.*got 1\.5/);
    expect(() => registry.validate('attention', { kind: 'bigbird', numRandomBlocks: -1 }, 'attention')).toThrow(/attention\.numRandomBlocks: numRandomBlocks must be ≥ 0, e\.g\. 3.*got -1/);
    expect(() => registry.validate('attention', { kind: 'bigbird', seed: 0.5 }, 'attention')).toThrow(/attention\.seed: seed must be a whole number.*got 0\.5/);
  });
});
