/** Mean evaluation loss of a model over a few batches of a data source. */
import { tf } from '@weft/core';
import type { Batch, DataSource, Rng, TrainableModel } from '@weft/core';

/**
 * Run `model.loss` with `training: false` on `batches` batches from `source` and return the
 * mean. The model is put in eval mode for the duration and then back in the mode it was in.
 */
export async function meanEvalLoss(
  model: TrainableModel,
  source: DataSource,
  batches: number,
  rng: Rng,
): Promise<number> {
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  try {
    for (let i = 0; i < batches; i++) {
      const batch: Batch = source.next();
      const loss = tf.tidy(() => model.loss(batch, { training: false, rng: rng.fork(i) }));
      tf.dispose(Object.values(batch));
      sum += (await loss.data())[0];
      loss.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
  return sum / batches;
}
