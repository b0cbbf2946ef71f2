/** Accuracy of a language model on fresh rows of a synthetic task (answer positions only). */
import { Rng, tf } from '@weft/core';
import type { CausalLM } from '@weft/nn';
import type { SyntheticTask } from '@weft/tasks';

export interface TaskEvaluation {
  /** Mean cross-entropy over answer tokens, in nats. */
  loss: number;
  accuracy: number;
  exactMatch: number;
  rows: number;
}

/** Rows come from a seed the training stream never uses, so they are (almost surely) unseen. */
export const TASK_EVAL_SEED = 0x5eed;

export function taskAccuracy(model: CausalLM, task: SyntheticTask, options: { rows: number; batch: number }): TaskEvaluation {
  const wasTraining = model.training;
  model.eval();
  const rng = new Rng(TASK_EVAL_SEED);
  let correct = 0;
  let total = 0;
  let exact = 0;
  let lossSum = 0;
  let rows = 0;
  try {
    while (rows < options.rows) {
      const size = Math.min(options.batch, options.rows - rows);
      const sample = task.sample(rng, size);
      const shape: [number, number] = [size, sample.seqLen];
      const inputs = tf.tensor2d(sample.inputs, shape, 'int32');
      const targets = tf.tensor2d(sample.targets, shape, 'int32');
      const lossMask = tf.tensor2d(sample.lossMask, shape, 'float32');
      try {
        const [loss, predicted] = tf.tidy(() => [model.loss({ inputs, targets, lossMask }, { training: false, rng }), tf.argMax(model.forward(inputs), -1)]);
        const score = task.score(predicted.dataSync(), sample);
        lossSum += loss.dataSync()[0] * size;
        tf.dispose([loss, predicted]);
        correct += score.correct;
        total += score.total;
        exact += score.exactMatch * size;
        rows += size;
      } finally {
        tf.dispose([inputs, targets, lossMask]);
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / rows, accuracy: total ? correct / total : 0, exactMatch: exact / rows, rows };
}
