/**
 * The "a tiny model learns" check plugins run: train on counting sequences (every next token
 * is predictable), with no tensor leaked per step, and return the losses for the caller to
 * judge. One copy here instead of one per plugin test.
 */
import { tf, type Tensor } from '../tfjs.js';
import { Rng } from '../rng.js';
import type { Batch } from '../slots.js';
import { expectNoLeaks } from './backends.js';

/** Counting sequences mod V from a random start: inputs [B, L] and their next tokens [B, L]. */
export function countingBatch(rng: Rng, B: number, L: number, V: number): Batch {
  const rows = Array.from({ length: B }, () => {
    const start = rng.int(V);
    return Array.from({ length: L + 1 }, (_, t) => (start + t) % V);
  });
  return {
    inputs: tf.tensor(rows.map((r) => r.slice(0, L)).flat(), [B, L], 'int32'),
    targets: tf.tensor(rows.map((r) => r.slice(1)).flat(), [B, L], 'int32'),
  };
}

/** What trainOnCounting needs of a model: its training loss. */
export interface TrainableOnBatches {
  loss(batch: Batch, options: { training: boolean; rng: Rng }): Tensor;
}

export interface CountingTrainingOptions {
  steps: number;
  /** Adam learning rate. */
  lr: number;
  /** Seeds the batches and the model's training randomness (one Rng for both). */
  seed: number;
  batch: number;
  length: number;
  vocab: number;
}

/** Adam on fresh counting batches for `steps` steps; fails on a tensor leak; returns each step's loss. */
export async function trainOnCounting(model: TrainableOnBatches, options: CountingTrainingOptions): Promise<number[]> {
  const optimizer = tf.train.adam(options.lr);
  const rng = new Rng(options.seed);
  const losses: number[] = [];
  try {
    await expectNoLeaks(() => {
      const batch = countingBatch(rng, options.batch, options.length, options.vocab);
      const loss = optimizer.minimize(() => model.loss(batch, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, batch.inputs, batch.targets]);
    }, options.steps);
  } finally {
    optimizer.dispose();
  }
  return losses;
}
