import { createRegistry, tf, useBackend } from '@weft/core';
import { expectTensorsClose, trainOnCounting } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import longhorn from '../src/index.js';

beforeAll(() => useBackend('wasm'));

const registry = createRegistry().use(standard).use(longhorn);

it('a tiny Longhorn LM learns (loss falls) without leaking, and decodes with its state', async () => {
  const model = buildModel(registry, { vocab: 8, dModel: 12, layers: 1, positional: 'none', mixer: { kind: 'longhorn', d_state: 4, expand: 1 }, feedforward: null, seed: 1 }) as CausalLM;
  const losses = await trainOnCounting(model, { steps: 25, lr: 0.03, seed: 2, batch: 6, length: 8, vocab: 8 });
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(model.canDecode()).toBe(true);
  const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
  const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
  expect(cached).toEqual(recomputed); // recurrent-state decoding == full recomputation
  model.dispose();
});

it('packed training does not leak across sequences: a packed row gives each sequence its own logits', () => {
  const model = buildModel(registry, { vocab: 8, dModel: 16, layers: 2, positional: 'none', mixer: { kind: 'longhorn', d_state: 4 }, seed: 4 }) as CausalLM;
  const a = [1, 2, 3, 4, 5];
  const b = [6, 7, 0, 1];
  const packed = tf.tensor([[...a, ...b]], [1, 9], 'int32');
  const segmentIds = tf.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 1]], [1, 9], 'int32');
  const positions = tf.tensor([[0, 1, 2, 3, 4, 0, 1, 2, 3]], [1, 9], 'int32');
  const joint = model.forward(packed, { segmentIds, positions });
  const ia = tf.tensor([a], [1, 5], 'int32');
  const ib = tf.tensor([b], [1, 4], 'int32');
  const separate = tf.concat([model.forward(ia), model.forward(ib)], 1);
  expectTensorsClose(joint, separate, { atol: 1e-4, rtol: 1e-4 });
  tf.dispose([packed, segmentIds, positions, joint, ia, ib, separate]);
  model.dispose();
});
