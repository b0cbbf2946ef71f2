import { createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, CausalLM, generate, standard } from '@weft/nn';
import longnet from '@weft/attn-longnet';

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('longnet: a tiny causal LM learns', () => {
  it('loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, longnet), {
      vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32,
      attention: { kind: 'longnet', segmentLengths: [4, 8, 16], dilations: [1, 2, 4] },
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

describe('longnet: config-time errors', () => {
  const registry = createRegistry().use(standard, longnet);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'longnet', segmentLengths: [0] }, 'attention')).toThrow(/attention\.segmentLengths\[0\]: every segmentLengths entry must be ≥ 1, e\.g\. \[2048, 4096, 8192, 16384, 32768\].*got 0/);
    expect(() => registry.validate('attention', { kind: 'longnet', dilations: [1.5] }, 'attention')).toThrow(/attention\.dilations\[0\]: every dilations entry must be a whole number ≥ 1.*got 1\.5/);
    expect(() => registry.validate('attention', { kind: 'longnet', dilations: [] }, 'attention')).toThrow(/attention\.dilations: dilations needs at least one entry/);
  });
  it('one dilation per segment length', () => {
    const build = () => buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'longnet', segmentLengths: [8, 16], dilations: [1] } });
    expect(build).toThrow(/dilations: dilations lists 1 value\(s\) \[1\] but segmentLengths lists 2 \[8, 16\]; give one dilation per segment length/);
  });
  it('cannot decode incrementally (decode: false): initCache refuses and generate() recomputes the prefix', () => {
    const model = buildModel(registry, { vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'longnet', segmentLengths: [8], dilations: [1] } }) as CausalLM;
    expect(model.canDecode()).toBe(false);
    expect(() => model.initCache(1)).toThrow(/cannot decode incrementally/);
    const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 3, temperature: 0 });
    expect(recomputed[0]).toHaveLength(3);
    model.dispose();
  });
});
