import { IncompatibleError, createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import musicRelative, { MusicRelativeAttention } from '../src/index.js';

const registry = () => createRegistry().use(standard, musicRelative);
const base = { vocab: 12, dModel: 16, layers: 2, heads: 2, maxLen: 32, seed: 3, positional: { kind: 'none' }, attention: { kind: 'music-relative', maxRelative: 6 } };

describe('music-relative in a causal LM', () => {
  beforeAll(() => useBackend('wasm'));

  it('builds one E_r per layer, shared across heads ([maxRelative, Dh])', () => {
    const model = buildModel(registry(), base) as CausalLM;
    const ers = model.namedParameters().filter(([name]) => name.endsWith('.er'));
    expect(ers.length).toBe(2);
    for (const [, p] of ers) expect(p.shape).toEqual([6, 8]);
    model.dispose();
  });

  it('cached decoding (model.step, the kernel sees the cached keys with queryOffset) equals the full forward pass', () => {
    const model = buildModel(registry(), base) as CausalLM;
    const ids = [[1, 5, 2, 8, 3, 11, 0, 6, 9, 4], [4, 4, 9, 2, 7, 1, 10, 3, 2, 2]];
    const full = model.forward(tf.tensor2d(ids.flat(), [2, 10], 'int32')); // [2, 10, V]
    const cache = model.initCache(2);
    const parts: tf.Tensor[] = [model.step(tf.tensor2d(ids.map((r) => r.slice(0, 4)).flat(), [2, 4], 'int32'), cache)];
    for (let t = 4; t < 10; t++) parts.push(model.step(tf.tensor2d(ids.map((r) => r[t]), [2, 1], 'int32'), cache));
    expectTensorsClose(tf.concat(parts, 1), full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    model.dispose();
  });

  it('trains: the loss falls on a periodic sequence task', () => {
    const model = buildModel(registry(), base) as CausalLM;
    const rows = Array.from({ length: 8 }, (_, b) => Array.from({ length: 13 }, (_, t) => (b + 3 * t) % 12));
    const inputs = tf.tensor2d(rows.map((r) => r.slice(0, 12)), undefined, 'int32');
    const targets = tf.tensor2d(rows.map((r) => r.slice(1)), undefined, 'int32');
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const loss = opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng: new Rng(i) }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('is refused in a bidirectional model with a message that names the kernel', () => {
    const config = { ...base, task: 'classifier', classes: 2 };
    expect(() => buildModel(registry(), config)).toThrow(IncompatibleError);
    expect(() => buildModel(registry(), config)).toThrow(/"music-relative" is causal-only, but this model is bidirectional/);
  });

  it('the kernel instance is a Module with E_r as its only parameter', () => {
    const kernel = registry().create('attention', { kind: 'music-relative', maxRelative: 4 }, { dims: { heads: 2, headDim: 8 } }) as MusicRelativeAttention;
    expect(kernel.namedParameters().map(([name]) => name)).toEqual(['er']);
    kernel.dispose();
  });
});
