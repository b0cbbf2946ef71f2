/** Conformance (cpu + wasm), the segmented model, training, leaks and config errors. */
import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import fam, { FamAttention } from '../src/index.js';

mixerConformance('fam (F 2, window 1)', () => new FamAttention({ memoryTokens: 2, window: 1 }, { dModel: 8, heads: 2, headDim: 4 }, new Rng(3)), { causal: true, decode: false }, { dModel: 8 });
mixerConformance('fam (F 0, window 0)', () => new FamAttention({ memoryTokens: 0, window: 0 }, { dModel: 8, heads: 2, headDim: 4 }, new Rng(3)), { causal: true, decode: false }, { dModel: 8 });

const registry = createRegistry().use(standard, fam);
const base = { vocab: 12, dModel: 16, layers: 2, heads: 2, seed: 1, segmentLength: 4, mixer: { kind: 'fam', memoryTokens: 2, window: 1 } };
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('fam in a model', () => {
  beforeAll(() => useBackend('wasm'));

  it('a segmented model carries the memory: same segment 2, different segment 1 -> different outputs', () => {
    const model = buildModel(registry, base) as CausalLM;
    const a = model.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32'));
    const b = model.forward(tf.tensor2d([[9, 9, 9, 9, 5, 6, 7, 8]], [1, 8], 'int32'));
    const diff = tf.max(tf.abs(tf.sub(tf.slice(a, [0, 4, 0], [1, 4, -1]), tf.slice(b, [0, 4, 0], [1, 4, -1])))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-6);
    tf.dispose([a, b]);
    model.dispose();
  });

  it('segmented loss is finite and gradients reach every FAM init', () => {
    const model = buildModel(registry, base) as CausalLM;
    const batch = { inputs: tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [1, 10], 'int32'), targets: tf.tensor2d([[2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], [1, 10], 'int32') };
    const inits = model.namedParameters().filter(([name]) => name.endsWith('fam_init')).map(([, v]) => v);
    expect(inits).toHaveLength(2);
    const { value, grads } = tf.variableGrads(() => model.loss(batch, { training: true, rng: new Rng(0) }) as tf.Scalar, inits);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const v of inits) expect(tf.max(tf.abs(grads[v.name])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, batch.inputs, batch.targets, ...Object.values(grads)]);
    model.dispose();
  });

  it('trains with segment recurrence (loss falls) without leaking tensors', async () => {
    const model = buildModel(registry, base) as CausalLM;
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
    tf.dispose([batch.inputs, batch.targets]);
    model.dispose();
  });

  it('does not claim decoding', () => {
    const model = buildModel(registry, base) as CausalLM;
    expect(model.canDecode()).toBe(false);
    model.dispose();
  });

  it('memoryTokens: -1 and window: 1.5 name the field, the value and the fix', () => {
    const e = thrown(() => registry.validate('mixer', { kind: 'fam', memoryTokens: -1 }, 'mixer'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('mixer.memoryTokens');
    expect(e.message).toContain('-1');
    expect(e.message).toContain('whole number >= 0');
    const w = thrown(() => registry.validate('mixer', { kind: 'fam', window: 1.5 }, 'mixer'));
    expect(w.message).toContain('mixer.window');
    expect(w.message).toContain('1.5');
    expect(w.message).toContain('whole number >= 0');
  });

  it('a bidirectional model is refused with the fix', () => {
    const e = thrown(() => buildModel(registry, { vocab: 12, dModel: 16, layers: 1, heads: 2, task: 'classifier', classes: 2, mixer: { kind: 'fam' } }));
    expect(IncompatibleError.isInstance(e) || ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toMatch(/causal|bidirectional/);
  });
});
