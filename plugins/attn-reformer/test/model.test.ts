import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, EncoderClassifier, standard } from '@weft/nn';
import reformer from '@weft/attn-reformer';

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('reformer in a classifier', () => {
  it('a tiny encoder classifier with LSH attention (2 rounds, 4 buckets, chunks of 4) learns, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, reformer), {
      task: 'classifier', classes: 2, vocab: 16, dModel: 32, layers: 1, heads: 2, maxLen: 16, seed: 1,
      attention: { kind: 'reformer', numHashes: 2, numBuckets: 4, bucketSize: 4, seed: 0 },
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

describe('reformer: config-time errors', () => {
  const registry = createRegistry().use(standard, reformer);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'reformer', numBuckets: 3 }, 'attention')).toThrow(/attention\.numBuckets: numBuckets must be 1 or even \(buckets come in ±R pairs\), e\.g\. 32.*got 3/);
    expect(() => registry.validate('attention', { kind: 'reformer', numHashes: 0 }, 'attention')).toThrow(/attention\.numHashes: numHashes must be ≥ 1, e\.g\. 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'reformer', bucketSize: 1.5 }, 'attention')).toThrow(/attention\.bucketSize: bucketSize must be a whole number.*got 1\.5/);
  });
  it('refuses a causal language model (bucket sorting lets later tokens move earlier chunks)', () => {
    const build = () => buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'reformer' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/attention kernel "reformer" cannot do causal attention, but this model is causal/);
  });
});
