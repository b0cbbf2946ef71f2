/** Conformance (cpu + wasm), no L×L tensor, the segmented model, training, leaks and config errors. */
import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend, type ForwardContext } from '@weft/core';
import { expectNoLeaks, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import blockRecurrent, { BlockRecurrentMixer } from '../src/index.js';

const dims = { dModel: 8, heads: 2, headDim: 4 };
mixerConformance('block-recurrent (W 3, S 2, lstm dual)', () => new BlockRecurrentMixer({ blockLength: 3, stateSize: 2, gate: 'lstm', configuration: 'dual', ffnHidden: 8 }, dims, new Rng(3)), { causal: true, decode: true }, { dModel: 8 });
mixerConformance('block-recurrent (W 4, S 0)', () => new BlockRecurrentMixer({ blockLength: 4, stateSize: 0, gate: 'fixed', configuration: 'skip', ffnHidden: 8 }, dims, new Rng(3)), { causal: true, decode: true }, { dModel: 8 });

const registry = createRegistry().use(standard, blockRecurrent);
const base = {
  vocab: 12,
  dModel: 16,
  layers: 2,
  heads: 2,
  seed: 1,
  segmentLength: 8,
  layout: [{ mixer: { kind: 'block-recurrent', blockLength: 4, stateSize: 0 } }, { mixer: { kind: 'block-recurrent', blockLength: 4, stateSize: 4 } }],
};
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('block-recurrent in a model', () => {
  beforeAll(() => useBackend('wasm'));

  it('allocates no L×L tensor: every kernel output is far below B·H·L·L', () => {
    const m = new BlockRecurrentMixer({ blockLength: 4, stateSize: 4, gate: 'fixed', configuration: 'skip', ffnHidden: 8 }, dims, new Rng(1));
    const L = 96;
    const x = new Rng(2).normalTensor([1, L, 8]);
    return tf
      .profile(() => m.forward(x, {} as ForwardContext))
      .then((info) => {
        const largest = Math.max(...info.kernels.flatMap((k) => k.outputShapes.map((s) => s.reduce((a, b) => a * b, 1))));
        expect(largest).toBeLessThan((2 * L * L) / 8);
        tf.dispose(info.result as tf.Tensor);
        x.dispose();
        m.dispose();
      });
  });

  it('the segmented model carries the state: tokens 0..4 reach positions 12..15 (in the next segment) only through it', () => {
    const diffOf = (config: object) => {
      const model = buildModel(registry, config) as CausalLM;
      const a = model.forward(tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2, 3, 4, 5]], [1, 16], 'int32'));
      const b = model.forward(tf.tensor2d([[9, 9, 9, 9, 9, 6, 7, 8, 9, 10, 11, 1, 2, 3, 4, 5]], [1, 16], 'int32'));
      const diff = tf.max(tf.abs(tf.sub(tf.slice(a, [0, 12, 0], [1, 4, -1]), tf.slice(b, [0, 12, 0], [1, 4, -1])))).dataSync()[0];
      tf.dispose([a, b]);
      model.dispose();
      return diff;
    };
    // two windows of W = 4: position 12 sees layer-1 outputs 9..12, which see tokens 6..12
    expect(diffOf(base)).toBeGreaterThan(1e-6);
    const slideOnly = { ...base, layout: [base.layout[0], base.layout[0]] };
    expect(diffOf(slideOnly)).toBeLessThan(1e-6);
  });

  it('segmented loss is finite and gradients reach the initial state and the gates', () => {
    const model = buildModel(registry, base) as CausalLM;
    const batch = { inputs: tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [1, 10], 'int32'), targets: tf.tensor2d([[2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], [1, 10], 'int32') };
    const vars = model.namedParameters().filter(([name]) => name.endsWith('state_init') || name.endsWith('state_gate.bias')).map(([, v]) => v);
    expect(vars).toHaveLength(2);
    const { value, grads } = tf.variableGrads(() => model.loss(batch, { training: true, rng: new Rng(0) }) as tf.Scalar, vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const v of vars) expect(tf.max(tf.abs(grads[v.name])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, batch.inputs, batch.targets, ...Object.values(grads)]);
    model.dispose();
  });

  it('trains with segment recurrence (loss falls) without leaking tensors', async () => {
    const model = buildModel(registry, base) as CausalLM;
    const seq = Array.from({ length: 17 }, (_, i) => (i * 5) % 12);
    const batch = {
      inputs: tf.tensor2d([seq.slice(0, 16)], [1, 16], 'int32'),
      targets: tf.tensor2d([seq.slice(1, 17)], [1, 16], 'int32'),
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

  it('decodes without segmentLength (model.step == forward across block boundaries); a segmented model recomputes instead', () => {
    const { segmentLength: _drop, ...unsegmented } = base;
    const model = buildModel(registry, unsegmented) as CausalLM;
    expect(model.canDecode()).toBe(true);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [1, 10], 'int32');
    const full = model.forward(ids);
    const cache = model.initCache(1);
    const parts = [3, 1, 4, 2].reduce<tf.Tensor[]>((acc, n, i, all) => {
      const at = all.slice(0, i).reduce((a, b) => a + b, 0);
      const chunk = tf.slice(ids, [0, at], [1, n]);
      acc.push(model.step(chunk, cache));
      chunk.dispose();
      return acc;
    }, []);
    const stepped = tf.concat(parts, 1);
    expect(tf.max(tf.abs(tf.sub(stepped, full))).dataSync()[0]).toBeLessThan(1e-4);
    cache.dispose();
    tf.dispose([ids, full, stepped, ...parts]);
    model.dispose();
    const segmented = buildModel(registry, base) as CausalLM;
    expect(segmented.canDecode()).toBe(false);
    segmented.dispose();
  });

  it('bad options name the field, the value and the fix', () => {
    const cases: Array<[Record<string, unknown>, string, string, string]> = [
      [{ blockLength: 0 }, 'mixer.blockLength', '0', 'whole number >= 1'],
      [{ stateSize: 2.5 }, 'mixer.stateSize', '2.5', 'whole number >= 0'],
      [{ gate: 'gru' }, 'mixer.gate', 'gru', '"fixed"'],
      [{ configuration: 'triple' }, 'mixer.configuration', 'triple', '"skip"'],
      [{ ffnHidden: -4 }, 'mixer.ffnHidden', '-4', 'whole number >= 1'],
    ];
    for (const [opts, field, value, fix] of cases) {
      const e = thrown(() => registry.validate('mixer', { kind: 'block-recurrent', ...opts }, 'mixer'));
      expect(ConfigError.isInstance(e)).toBe(true);
      expect(e.message).toContain(field);
      expect(e.message).toContain(value);
      expect(e.message).toContain(fix);
    }
  });

  it('a bidirectional model is refused with the fix', () => {
    const e = thrown(() => buildModel(registry, { vocab: 12, dModel: 16, layers: 1, heads: 2, task: 'classifier', classes: 2, mixer: { kind: 'block-recurrent' } }));
    expect(IncompatibleError.isInstance(e) || ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toMatch(/causal|bidirectional/);
  });
});
