/**
 * The shared half of every synthetic task: a task only says how to write one row
 * (`generateRow`); this class lays rows out as inputs/targets/lossMask, makes tensors and
 * scores predictions.
 */
import { ConfigError, tf, type Batch, type Rng } from '@weft/core';
import { scoreAnswers } from './score-answers.js';
import { PAD_ID, type SyntheticTask, type TaskSample, type TaskScore } from './task.js';

/** One row as the task writes it. */
export interface TaskRow {
  /** The whole sequence, at most seqLen + 1 tokens (padded with PAD_ID to that length). */
  tokens: number[];
  /** Indices into `tokens` of the answer tokens (each >= 1: the first token is never predicted). */
  answerPositions: number[];
}

export abstract class SequenceTask<Options extends Record<string, unknown>> implements SyntheticTask {
  abstract readonly name: string;
  abstract readonly vocabSize: number;
  abstract readonly seqLen: number;
  readonly options: Readonly<Options>;

  constructor(options: Options) {
    this.options = options;
  }

  /** One row, drawing all its randomness from `rng`. */
  protected abstract generateRow(rng: Rng): TaskRow;

  sample(rng: Rng, batchSize: number): TaskSample {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ConfigError('batchSize', `must be a positive integer; got ${batchSize}.`);
    }
    const L = this.seqLen;
    const inputs = new Int32Array(batchSize * L);
    const targets = new Int32Array(batchSize * L);
    const lossMask = new Float32Array(batchSize * L);
    for (let row = 0; row < batchSize; row++) {
      const { tokens, answerPositions } = this.generateRow(rng);
      if (tokens.length > L + 1) {
        throw new Error(`${this.name}: generated ${tokens.length} tokens for a row of seqLen + 1 = ${L + 1} (a bug in the task).`);
      }
      const sequence = [...tokens, ...new Array<number>(L + 1 - tokens.length).fill(PAD_ID)];
      for (let t = 0; t < L; t++) {
        inputs[row * L + t] = sequence[t];
        targets[row * L + t] = sequence[t + 1];
      }
      // The answer token at sequence index p is the target of input position p - 1.
      for (const p of answerPositions) lossMask[row * L + p - 1] = 1;
    }
    return { inputs, targets, lossMask, batchSize, seqLen: L };
  }

  batch(rng: Rng, batchSize: number): Batch {
    const s = this.sample(rng, batchSize);
    const shape: [number, number] = [s.batchSize, s.seqLen];
    return {
      inputs: tf.tensor2d(s.inputs, shape, 'int32'),
      targets: tf.tensor2d(s.targets, shape, 'int32'),
      lossMask: tf.tensor2d(s.lossMask, shape, 'float32'),
    };
  }

  score(predictedIds: ArrayLike<number>, sample: TaskSample): TaskScore {
    return scoreAnswers(predictedIds, sample);
  }
}
