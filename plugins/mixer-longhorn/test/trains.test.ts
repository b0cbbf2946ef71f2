import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import longhorn from '../src/index.js';

beforeAll(() => useBackend('wasm'));

const registry = createRegistry().use(standard).use(longhorn);

/** Counting sequences mod V with a random start: the next token is always predictable. */
function countingBatch(rng: Rng, B: number, L: number, V: number): Batch {
  const rows = Array.from({ length: B }, () => {
    const s = rng.int(V);
    return Array.from({ length: L + 1 }, (_, t) => (s + t) % V);
  });
  return {
    inputs: tf.tensor(rows.map((r) => r.slice(0, L)).flat(), [B, L], 'int32'),
    targets: tf.tensor(rows.map((r) => r.slice(1)).flat(), [B, L], 'int32'),
  };
}

it('a tiny Longhorn LM learns (loss falls) without leaking, and decodes with its state', async () => {
  const model = buildModel(registry, { vocab: 8, dModel: 12, layers: 1, positional: 'none', mixer: { kind: 'longhorn', d_state: 4, expand: 1 }, feedforward: null, seed: 1 }) as CausalLM;
  const opt = tf.train.adam(0.03);
  const rng = new Rng(2);
  const losses: number[] = [];
  await expectNoLeaks(() => {
    const batch = countingBatch(rng, 6, 8, 8);
    const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, batch.inputs, batch.targets]);
  }, 25);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(model.canDecode()).toBe(true);
  const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
  const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
  expect(cached).toEqual(recomputed); // recurrent-state decoding == full recomputation
  opt.dispose();
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
