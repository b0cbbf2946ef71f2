import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import s4 from '../src/index.js';

beforeAll(() => useBackend('cpu'));

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

it.each(['s4'])('a tiny %s LM learns (loss falls) without leaking, and decodes with its state', async (kind) => {
  const model = buildModel(createRegistry().use(standard).use(s4), {
    vocab: 8, dModel: 12, layers: 1, positional: 'none', mixer: { kind, d_state: 8 }, feedforward: null, seed: 1,
  }) as CausalLM;
  const opt = tf.train.adam(0.03);
  const rng = new Rng(2);
  const losses: number[] = [];
  await expectNoLeaks(() => {
    const batch = countingBatch(rng, 6, 8, 8);
    const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, batch.inputs, batch.targets]);
  }, 20);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(model.canDecode()).toBe(true);
  const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
  const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
  expect(cached).toEqual(recomputed); // recurrent-state decoding == full recomputation
  opt.dispose();
  model.dispose();
});
