import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, CausalLM, standard } from '@weft/nn';
import bpt from '@weft/attn-blockwise-parallel';

const config = (extra: Record<string, unknown> = {}) => ({
  vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32,
  mixer: { kind: 'blockwise-parallel', queryChunkSize: 4, keyChunkSize: 4 },
  feedforward: null,
  layout: [{ norm: 'identity' }],
  ...extra,
});

// Training runs on wasm only (the pure-JS cpu backend is ~10x slower).
describeWithBackends('blockwise-parallel: a tiny causal LM learns', () => {
  it('loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, bpt), config()) as CausalLM;
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

describe('blockwise-parallel: config-time errors', () => {
  const registry = createRegistry().use(standard, bpt);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'blockwise-parallel', queryChunkSize: 0 }, 'mixer')).toThrow(/mixer\.queryChunkSize: queryChunkSize must be ≥ 1, e\.g\. 512.*got 0/);
    expect(() => registry.validate('mixer', { kind: 'blockwise-parallel', keyChunkSize: 2.5 }, 'mixer')).toThrow(/mixer\.keyChunkSize: keyChunkSize must be a whole number.*got 2\.5/);
    expect(() => registry.validate('mixer', { kind: 'blockwise-parallel', mult: -1 }, 'mixer')).toThrow(/mixer\.mult: mult must be > 0, e\.g\. 4.*got -1/);
  });
  it('refuses a positional encoding it would silently ignore (rotary / bias)', () => {
    const fakeRotary = definePlugin({
      name: 'fake-rotary',
      version: '0.0.0',
      provides: [positional('fake-rotary', { capabilities: { embed: false, rotate: true, bias: false, logitScale: false }, create: () => ({ rotate: (q: Tensor, k: Tensor) => [q, k] as [Tensor, Tensor] }) })],
    });
    const build = () => buildModel(createRegistry().use(standard, bpt, fakeRotary), config({ positional: { kind: 'fake-rotary' } }));
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/mixer "blockwise-parallel" applies no positional encoding inside attention, but this layer uses positional "fake-rotary"; use positional 'sinusoidal' or 'learned'/);
    expect(() => buildModel(registry, config({ positional: { kind: 'none' } })).dispose()).not.toThrow();
  });
  it('decoding is not offered (decode: false): initCache names the layer', () => {
    const model = buildModel(registry, config()) as CausalLM;
    expect(model.canDecode()).toBe(false);
    expect(() => model.initCache(1)).toThrow(/Layer 0's mixer has no step\(\)/);
    model.dispose();
  });
});
