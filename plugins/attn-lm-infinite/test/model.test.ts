import { createRegistry, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, standard } from '@weft/nn';
import lmInfinite from '@weft/attn-lm-infinite';

describeWithBackends('lm-infinite in a causal LM', () => {
  it('cached decoding (model.step) equals model.forward past nLocal', () => {
    const model = buildModel(createRegistry().use(standard, lmInfinite), { vocab: 16, dModel: 16, layers: 2, heads: 2, maxLen: 32, seed: 2, attention: { kind: 'lm-infinite', nGlobal: 2, nLocal: 4 } }) as CausalLM;
    const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6]];
    const ids = tf.tensor2d(seq, [1, seq[0].length], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(1);
    const parts: Tensor[] = [];
    for (const [start, n] of [[0, 4], [4, 3], ...Array.from({ length: 7 }, (_, t) => [7 + t, 1])]) {
      const chunk = ids.slice([0, start], [1, n]);
      parts.push(model.step(chunk, cache));
      chunk.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, stepped, ...parts]);
    model.dispose();
  });
});

describeWithBackends('lm-infinite: a tiny causal LM learns', () => {
  it('loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, lmInfinite), { vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32, attention: { kind: 'lm-infinite', nGlobal: 2, nLocal: 4 } }) as CausalLM;
    const data = new Rng(5);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => {
        const start = Math.floor(data.uniform() * 16);
        return Array.from({ length: 17 }, (_, t) => (start + 3 * t) % 16);
      });
      return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 16)), [8, 16], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 16], 'int32') };
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

describe('lm-infinite: config-time errors', () => {
  const registry = createRegistry().use(standard, lmInfinite);
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'lm-infinite', nLocal: 0 }, 'attention')).toThrow(/attention\.nLocal: nLocal must be ≥ 1 \(set it to the pretraining length, e\.g\. 2048\).*got 0/);
    expect(() => registry.validate('attention', { kind: 'lm-infinite', nGlobal: -2 }, 'attention')).toThrow(/attention\.nGlobal: nGlobal must be ≥ 0, e\.g\. 100.*got -2/);
    expect(() => registry.validate('attention', { kind: 'lm-infinite', nGlobal: 1.5 }, 'attention')).toThrow(/attention\.nGlobal: nGlobal must be a whole number.*got 1\.5/);
  });
  it('a bidirectional model (classifier encoder) is refused at build time, saying what to change', () => {
    const build = () => buildModel(registry, { task: 'classifier', classes: 2, vocab: 16, dModel: 16, layers: 1, heads: 2, attention: { kind: 'lm-infinite' } });
    expect(build).toThrow(/attention kernel "lm-infinite" is causal-only, but this model is bidirectional/);
  });
});
