/**
 * The contract of a synthetic task: a seeded generator of token sequences for causal language
 * modelling, plus the metric that says whether a model solved it.
 *
 * Every task writes one sequence of seqLen + 1 tokens per row. As in language modelling,
 * inputs = sequence[0 .. L-1] and targets = sequence[1 .. L], so targets[t] is the token the
 * model should predict after reading inputs[0..t]. `lossMask[t]` is 1 exactly where
 * targets[t] is part of the answer (the tokens the task asks the model to produce) and 0
 * elsewhere, so training and scoring look only at the answer.
 */
import type { Batch, Rng } from '@weft/core';

/** Id 0 pads every task's sequences (after the answer, where a task's rows vary in length). */
export const PAD_ID = 0;

/** A batch of task rows as plain arrays, row-major [batchSize, seqLen]. */
export interface TaskSample {
  inputs: Int32Array;
  targets: Int32Array;
  /** 1 on answer positions, 0 elsewhere. */
  lossMask: Float32Array;
  batchSize: number;
  seqLen: number;
}

/** Exact-match accuracy over answer positions. */
export interface TaskScore {
  /** correct / total: the fraction of answer tokens predicted right. */
  accuracy: number;
  /** Answer tokens predicted right. */
  correct: number;
  /** Answer tokens (positions where lossMask is 1). */
  total: number;
  /** The fraction of rows whose every answer token is right. */
  exactMatch: number;
}

export interface SyntheticTask {
  /** The registry name, e.g. 'copy'. */
  readonly name: string;
  readonly vocabSize: number;
  /** L, the length of inputs and targets. */
  readonly seqLen: number;
  /** The validated options with defaults filled in: what rebuilds this task with `createTask`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** `batchSize` rows drawn from `rng` (the same rng state always gives the same rows). */
  sample(rng: Rng, batchSize: number): TaskSample;
  /** `sample` as tensors: inputs, targets [B, L] int32 and lossMask [B, L] float32. */
  batch(rng: Rng, batchSize: number): Batch;
  /**
   * Scores a model's predictions for `sample`: `predictedIds` [B, L] row-major, the argmax of
   * the logits at each position (the predicted next token), compared with the targets on the
   * answer positions.
   */
  score(predictedIds: ArrayLike<number>, sample: TaskSample): TaskScore;
}
