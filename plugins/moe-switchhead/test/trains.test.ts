/** A tiny causal LM with SwitchHead attention learns, without leaking tensors. */
import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import switchhead, { SwitchHeadLayout } from '../src/index.js';

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

it('a tiny SwitchHead LM learns (loss falls) without leaks', async () => {
  const model = buildModel(createRegistry().use(standard, switchhead), {
    vocab: 8, dModel: 16, layers: 1, heads: 2, headDim: 8, maxLen: 16, headLayout: { kind: 'switchhead', experts: 4, topK: 2 }, seed: 1,
  }) as CausalLM;
  expect(Array.from(model.blocks).every((b) => (b.mixer as unknown as { heads: unknown }).heads instanceof SwitchHeadLayout)).toBe(true);
  const opt = tf.train.adam(0.03);
  const rng = new Rng(2);
  const losses: number[] = [];
  await expectNoLeaks(() => {
    const batch = countingBatch(rng, 6, 8, 8);
    const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, batch.inputs, batch.targets]);
  }, 25);
  expect(losses[0]).toBeGreaterThan(1.5); // ~ln 8 at init
  expect(Math.min(...losses.slice(-5))).toBeLessThan(0.7 * losses[0]);
  opt.dispose();
  model.dispose();
});
