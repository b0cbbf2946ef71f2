/** A tiny bidirectional classifier with CoLT5 feed-forward layers learns, without leaks. */
import { createRegistry, Rng, tf, useBackend, type Batch } from '@weft/core';
import { expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import colt5, { Colt5FeedForward } from '../src/index.js';

beforeAll(() => useBackend('wasm'));

/** Class = whether token 1 occurs in the sequence. */
function batchOf(rng: Rng, B: number, L: number, V: number): Batch {
  const rows = Array.from({ length: B }, () => Array.from({ length: L }, () => 2 + rng.int(V - 2)));
  const labels = rows.map((r) => {
    const has = rng.uniform() < 0.5;
    if (has) r[rng.int(L)] = 1;
    return has ? 1 : 0;
  });
  return { inputs: tf.tensor(rows.flat(), [B, L], 'int32'), targets: tf.tensor(labels, [B], 'int32') };
}

it('a tiny encoder classifier with colt5 layers learns (loss falls) without leaks', async () => {
  const model = buildModel(createRegistry().use(standard, colt5), {
    task: 'classifier', classes: 2, vocab: 8, dModel: 16, layers: 1, heads: 2, maxLen: 16, feedforward: { kind: 'colt5', k: 2, lightMult: 1, heavyMult: 4 }, seed: 1,
  }) as unknown as EncoderClassifier;
  expect(model.namedParameters().some(([n]) => n.includes('heavy'))).toBe(true);
  expect(Array.from((model as unknown as { blocks: Iterable<{ feedforward: unknown }> }).blocks).every((b) => b.feedforward instanceof Colt5FeedForward)).toBe(true);
  const opt = tf.train.adam(0.02);
  const rng = new Rng(3);
  const losses: number[] = [];
  await expectNoLeaks(() => {
    const batch = batchOf(rng, 16, 8, 8);
    const loss = opt.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]);
    tf.dispose([loss, batch.inputs, batch.targets]);
  }, 40);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  expect(mean(losses.slice(0, 5))).toBeGreaterThan(0.6); // ~ln 2 at init
  expect(mean(losses.slice(-5))).toBeLessThan(0.75 * mean(losses.slice(0, 5)));
  opt.dispose();
  model.dispose();
});
