/**
 * Learning: a copy task across segments. Segment 1 starts with a key k ∈ {0..3}; segment 2
 * starts with a query token, whose next-token target is k. Only the memory can carry k
 * across the boundary, so with m ≥ 1 the answer's loss falls well below the no-memory
 * model's, which stays at chance (ln 4 ≈ 1.39). Tiny and fast on the wasm backend.
 */
import { Rng, tf, useBackend, type Batch } from '@weft/core';
import type { CausalLM } from '@weft/nn';
import { build } from './helpers.js';

const KEYS = 4;
const FILL = 4;
const QUERY = 5;
const Ls = 4;

function copyBatch(rng: Rng, B: number): Batch {
  const inputs: number[] = [];
  const targets: number[] = [];
  const mask: number[] = [];
  for (let b = 0; b < B; b++) {
    const k = Math.floor(rng.uniform() * KEYS);
    inputs.push(k, FILL, FILL, FILL, QUERY, FILL, FILL, FILL);
    targets.push(0, 0, 0, 0, k, 0, 0, 0);
    mask.push(0, 0, 0, 0, 1, 0, 0, 0);
  }
  return {
    inputs: tf.tensor2d(inputs, [B, 2 * Ls], 'int32'),
    targets: tf.tensor2d(targets, [B, 2 * Ls], 'int32'),
    lossMask: tf.tensor2d(mask, [B, 2 * Ls], 'float32'),
  };
}

function trainAndEval(tokens: number, steps: number): number {
  const model = build({ vocab: 6, dModel: 32, layers: 1, heads: 2, seed: 1, feedforward: null, segmentLength: Ls, memory: { kind: 'rmt', tokens } }) as CausalLM;
  const opt = tf.train.adam(1e-2);
  const data = new Rng(123);
  for (let i = 0; i < steps; i++) {
    const batch = copyBatch(data, 16);
    opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar, true)?.dispose();
    tf.dispose([batch.inputs, batch.targets, batch.lossMask!]);
  }
  const evalBatch = copyBatch(new Rng(999), 64);
  const loss = tf.tidy(() => model.loss(evalBatch, { training: false, rng: new Rng(0) }).dataSync()[0]);
  tf.dispose([evalBatch.inputs, evalBatch.targets, evalBatch.lossMask!]);
  opt.dispose();
  model.dispose();
  return loss;
}

describe('memory-rmt learns to copy across segments', () => {
  beforeAll(() => useBackend('wasm'));

  it('with memory tokens the answer loss falls clearly below the no-memory model (same steps)', () => {
    const steps = 150;
    const withMemory = trainAndEval(2, steps);
    const without = trainAndEval(0, steps);
    expect(without).toBeGreaterThan(1.2); // chance: ln 4 ≈ 1.386
    expect(withMemory).toBeLessThan(0.5 * without);
  }, 60_000);
});
