/** Conformance (cpu + wasm), model integration, training, leaks and config errors. */
import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import transformerXl, { TransformerXlAttention } from '../src/index.js';

mixerConformance('transformer-xl', () => new TransformerXlAttention({ dModel: 8, heads: 2, headDim: 4, memLength: 4 }, new Rng(3)), { causal: true, decode: true }, { dModel: 8 });

const registry = createRegistry().use(standard, transformerXl);
const base = { vocab: 12, dModel: 16, layers: 2, heads: 2, seed: 1, positional: 'none', mixer: { kind: 'transformer-xl', memLength: 4 } };
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('transformer-xl in a model', () => {
  beforeAll(() => useBackend('wasm'));

  it('a segmented model carries the memory: same segment 2, different segment 1 -> different outputs', () => {
    const model = buildModel(registry, { ...base, segmentLength: 4 }) as CausalLM;
    const a = model.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32'));
    const b = model.forward(tf.tensor2d([[9, 9, 9, 9, 5, 6, 7, 8]], [1, 8], 'int32'));
    const diff = tf.max(tf.abs(tf.sub(tf.slice(a, [0, 4, 0], [1, 4, -1]), tf.slice(b, [0, 4, 0], [1, 4, -1])))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-6);
    tf.dispose([a, b]);
    model.dispose();
  });

  it('trains with segment recurrence (loss falls) without leaking tensors', async () => {
    const model = buildModel(registry, { ...base, segmentLength: 4 }) as CausalLM;
    const seq = Array.from({ length: 12 }, (_, i) => (i * 5) % 12);
    const batch = {
      inputs: tf.tensor2d([seq.slice(0, 11)], [1, 11], 'int32'),
      targets: tf.tensor2d([seq.slice(1, 12)], [1, 11], 'int32'),
    };
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    await expectNoLeaks((i) => {
      const l = opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar, true)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
    }, 30);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    model.dispose();
  });

  it('decodes incrementally without segmentLength (generation path)', () => {
    const model = buildModel(registry, base) as CausalLM;
    expect(model.canDecode()).toBe(true);
    model.dispose();
  });

  it('memLength: -1 names the field, the value and the fix', () => {
    const e = thrown(() => registry.validate('mixer', { kind: 'transformer-xl', memLength: -1 }, 'mixer'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('mixer.memLength');
    expect(e.message).toContain('-1');
    expect(e.message).toContain('whole number >= 0');
  });

  it('an absolute positional encoding is refused with the fix', () => {
    const e = thrown(() => buildModel(registry, { ...base, positional: 'sinusoidal' }));
    expect(IncompatibleError.isInstance(e) || ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional is "sinusoidal"');
    expect(e.message).toContain('"positional": "none"');
  });
});
