/** The metric every synthetic task uses: exact match on the answer positions. */
import { ShapeError } from '@weft/core';
import type { TaskSample, TaskScore } from './task.js';

/**
 * Compares `predictedIds` ([B, L] row-major, the argmax of the logits at each position) with
 * `sample.targets` wherever `sample.lossMask` is 1.
 */
export function scoreAnswers(predictedIds: ArrayLike<number>, sample: TaskSample): TaskScore {
  const { batchSize, seqLen, targets, lossMask } = sample;
  if (predictedIds.length !== batchSize * seqLen) {
    throw new ShapeError(
      `score: predictedIds has ${predictedIds.length} values but the sample is [${batchSize}, ${seqLen}] = ${batchSize * seqLen}; ` +
        'pass the argmax of the logits over the vocabulary for every position, flattened row-major.',
    );
  }
  let correct = 0;
  let total = 0;
  let rowsAllCorrect = 0;
  for (let row = 0; row < batchSize; row++) {
    let rowCorrect = true;
    for (let t = row * seqLen; t < (row + 1) * seqLen; t++) {
      if (lossMask[t] === 0) continue;
      total++;
      if (predictedIds[t] === targets[t]) correct++;
      else rowCorrect = false;
    }
    if (rowCorrect) rowsAllCorrect++;
  }
  return { accuracy: total === 0 ? 0 : correct / total, correct, total, exactMatch: batchSize === 0 ? 0 : rowsAllCorrect / batchSize };
}
