import { createRegistry, IncompatibleError, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import linformer from '@weft/attn-linformer';

const base = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 8 };

function batchMaker(seed: number) {
  const data = new Rng(seed);
  return () => {
    const rows = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => Math.floor(data.uniform() * 16)));
    const labels = rows.map((r) => (r.filter((t) => t < 8).length > 4 ? 1 : 0)); // label: more than half of the tokens are < 8
    return { inputs: tf.tensor2d(rows, [16, 8], 'int32'), targets: tf.tensor1d(labels, 'int32') };
  };
}

describeWithBackends('linformer in a classifier', () => {
  it('a tiny encoder classifier with layerwise sharing learns (loss falls below 70%); E is one parameter for the whole model; no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, linformer), { ...base, task: 'classifier', classes: 2, attention: { kind: 'linformer', k: 4, sharing: 'layerwise' }, seed: 1 }) as unknown as EncoderClassifier;
    const projections = model.namedParameters().filter(([n]) => /kernel\.[EF]$/.test(n));
    expect(projections).toHaveLength(1); // registered once, by the first layer
    expect(projections[0][1].shape).toEqual([8, 4]);
    const batch = batchMaker(9);
    const opt = tf.train.adam(3e-3);
    const rng = new Rng(0);
    const losses: number[] = [];
    const E0 = projections[0][1].dataSync().slice();
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 80);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    expect(Math.max(...Array.from(projections[0][1].dataSync(), (x, i) => Math.abs(x - E0[i])))).toBeGreaterThan(1e-3); // E is trained
    opt.dispose();
    model.dispose();
  });

  it('sharing "none" / "headwise" / "key-value" register per-layer projections of the right shapes', () => {
    const shapes = (sharing: string) => {
      const model = buildModel(createRegistry().use(standard, linformer), { ...base, task: 'classifier', classes: 2, attention: { kind: 'linformer', k: 4, sharing } }) as unknown as EncoderClassifier;
      const out = model.namedParameters().filter(([n]) => /kernel\.[EF]$/.test(n)).map(([n, p]) => [n.replace(/^.*kernel\./, ''), p.shape]);
      model.dispose();
      return out;
    };
    expect(shapes('none')).toEqual([['E', [4, 8, 4]], ['F', [4, 8, 4]], ['E', [4, 8, 4]], ['F', [4, 8, 4]]]);
    expect(shapes('headwise')).toEqual([['E', [8, 4]], ['F', [8, 4]], ['E', [8, 4]], ['F', [8, 4]]]);
    expect(shapes('key-value')).toEqual([['E', [8, 4]], ['E', [8, 4]]]);
  });
}, ['wasm']);

describe('linformer: config-time errors', () => {
  it('refuses a causal language model (bidirectional only)', () => {
    const build = () => buildModel(createRegistry().use(standard, linformer), { ...base, attention: { kind: 'linformer' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/attention kernel "linformer" cannot do causal attention, but this model is causal/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, linformer);
    expect(() => registry.validate('attention', { kind: 'linformer', k: 0 }, 'attention')).toThrow(/attention\.k: k must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'linformer', k: 2.5 }, 'attention')).toThrow(/attention\.k: k must be a whole number/);
    expect(() => registry.validate('attention', { kind: 'linformer', sharing: 'all' }, 'attention')).toThrow(/attention\.sharing: sharing must be one of "none", "headwise", "key-value", "layerwise"/);
  });
});
