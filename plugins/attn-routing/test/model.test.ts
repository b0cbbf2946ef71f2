import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, EncoderClassifier, standard } from '@weft/nn';
import routing from '@weft/attn-routing';

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('routing: a tiny classifier learns', () => {
  it('loss on a token-presence task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, routing), {
      task: 'classifier', classes: 2, vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32,
      attention: { kind: 'routing', clusters: 2, window: 4 },
    }) as EncoderClassifier;
    const data = new Rng(5);
    const batch = () => {
      const labels = Array.from({ length: 8 }, () => data.int(2));
      const rows = labels.map((label) => Array.from({ length: 16 }, () => (label ? 8 : 0) + data.int(8)));
      return { inputs: tf.tensor2d(rows, [8, 16], 'int32'), targets: tf.tensor1d(labels, 'int32') };
    };
    const opt = tf.train.adam(1e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 40);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.5 * losses[0]);
    // The centroids are a non-trainable buffer of the model.
    const centroids = model.namedParameters().filter(([name]) => name.endsWith('centroids'));
    expect(centroids.length).toBe(1);
    expect(centroids[0][1].trainable).toBe(false);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('routing: config-time errors', () => {
  const registry = createRegistry().use(standard, routing);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'routing', clusters: 0 }, 'attention')).toThrow(/attention\.clusters: clusters must be ≥ 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'routing', clusters: 1.5 }, 'attention')).toThrow(/attention\.clusters: clusters must be a whole number.*got 1\.5/);
    expect(() => registry.validate('attention', { kind: 'routing', decay: 1 }, 'attention')).toThrow(/attention\.decay: decay must be < 1.*got 1/);
    expect(() => registry.validate('attention', { kind: 'routing', window: -2 }, 'attention')).toThrow(/attention\.window: window must be ≥ 0.*got -2/);
  });
  it('routingHeads cannot exceed the head count', () => {
    const build = () => buildModel(registry, { task: 'classifier', classes: 2, vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'routing', routingHeads: 3 } });
    expect(build).toThrow(/routingHeads: routingHeads is 3 but the model has 2 heads; use at most 2/);
  });
  it('is refused in a causal language model (cluster membership looks ahead)', () => {
    let err: unknown;
    try {
      buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 2, attention: 'routing' });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect((err as Error).message).toMatch(/cannot do causal attention/);
  });
  it('a length that is not a multiple of the clusters fails with the fix', () => {
    const model = buildModel(registry, { task: 'classifier', classes: 2, vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'routing', clusters: 4 } }) as EncoderClassifier;
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    expect(() => model.forward(ids)).toThrow(/length 6 is not a multiple of clusters 4/);
    ids.dispose();
    model.dispose();
  });
});
