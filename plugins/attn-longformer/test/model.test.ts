import { createRegistry, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, standard } from '@weft/nn';
import longformer from '@weft/attn-longformer';

describeWithBackends('longformer in a causal LM', () => {
  it('cached decoding (model.step) equals model.forward, with dilated heads and a global token', () => {
    const model = buildModel(createRegistry().use(standard, longformer), {
      vocab: 16, dModel: 16, layers: 2, heads: 2, maxLen: 32, seed: 2,
      attention: { kind: 'longformer', window: 2, dilation: [1, 2], globalTokens: [0] },
    }) as CausalLM;
    const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6]];
    const ids = tf.tensor2d(seq, [1, seq[0].length], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(1);
    const parts: Tensor[] = [];
    const feed = (start: number, n: number) => {
      const chunk = ids.slice([0, start], [1, n]);
      parts.push(model.step(chunk, cache));
      chunk.dispose();
    };
    feed(0, 4);
    feed(4, 3);
    for (let t = 7; t < seq[0].length; t++) feed(t, 1);
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, stepped, ...parts]);
    model.dispose();
  });
});

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('longformer: a tiny causal LM learns', () => {
  it('loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, longformer), {
      vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32,
      attention: { kind: 'longformer', window: 3, globalTokens: [0] },
    }) as CausalLM;
    const data = new Rng(5);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => {
        const start = Math.floor(data.uniform() * 16);
        return Array.from({ length: 17 }, (_, t) => (start + 3 * t) % 16);
      });
      return {
        inputs: tf.tensor2d(rows.map((r) => r.slice(0, 16)), [8, 16], 'int32'),
        targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 16], 'int32'),
      };
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
    expect(losses[0]).toBeGreaterThan(2);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('longformer: config-time errors', () => {
  const registry = createRegistry().use(standard, longformer);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'longformer', window: -1 }, 'attention')).toThrow(/attention\.window: window must be ≥ 0, e\.g\. 256.*got -1/);
    expect(() => registry.validate('attention', { kind: 'longformer', window: 2.5 }, 'attention')).toThrow(/attention\.window: window must be a whole number of tokens.*got 2\.5/);
    expect(() => registry.validate('attention', { kind: 'longformer', dilation: 0 }, 'attention')).toThrow(/attention\.dilation.*dilation must be ≥ 1/);
    expect(() => registry.validate('attention', { kind: 'longformer', globalTokens: [-3] }, 'attention')).toThrow(/attention\.globalTokens\[0\]: each globalTokens index must be ≥ 0.*got -3/);
  });
  it('a per-head dilation list must have one value per head', () => {
    const build = () => buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 4, attention: { kind: 'longformer', dilation: [1, 2] } });
    expect(build).toThrow(/dilation: dilation lists 2 value\(s\) \[1, 2\] but the model has 4 heads; give one per head or a single number/);
  });
});
