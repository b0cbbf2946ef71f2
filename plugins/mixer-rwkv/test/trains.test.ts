import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import rwkv from '../src/index.js';

beforeAll(() => useBackend('wasm'));

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

it('a tiny pure-RWKV LM (feedforward: null) learns without leaking, and decodes with its state', async () => {
  const model = buildModel(createRegistry().use(standard).use(rwkv), {
    vocab: 8, dModel: 16, layers: 2, positional: 'none', mixer: { kind: 'rwkv', ffnMult: 2 }, feedforward: null, seed: 1,
  }) as CausalLM;
  const opt = tf.train.adam(0.02);
  const rng = new Rng(2);
  const losses: number[] = [];
  await expectNoLeaks(() => {
    const batch = countingBatch(rng, 8, 8, 8);
    const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, batch.inputs, batch.targets]);
  }, 30);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 = 2.08 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  expect(model.canDecode()).toBe(true);
  const cached = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
  const recomputed = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
  expect(cached).toEqual(recomputed); // recurrent-state decoding == full recomputation
  opt.dispose();
  model.dispose();
});
