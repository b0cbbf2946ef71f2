/**
 * Loss and gradients averaged over micro-batches. With N micro-batches of equal size the
 * result equals the loss and gradients of one batch N times larger, while only one
 * micro-batch's activations are alive at a time.
 */
import { TrainingError, tf } from '@weft/core';
import type { Tensor, Variable } from '@weft/core';

export type LossAndGradients = {
  /** Mean loss, a scalar. */
  loss: Tensor;
  /** Mean gradient per parameter name; parameters the loss does not reach are absent. */
  grads: Record<string, Tensor>;
};

/**
 * Compute `lossOf(i)` for i = 0 .. microBatches-1 and average the losses and their
 * gradients with respect to `params`. The caller owns and disposes the result.
 */
export function accumulateGradients(
  params: Array<[string, Variable]>,
  microBatches: number,
  lossOf: (micro: number) => Tensor,
): LossAndGradients {
  if (!Number.isInteger(microBatches) || microBatches < 1) {
    throw new TrainingError(
      `accumulateGradients needs a whole number of micro-batches >= 1, got ${microBatches}`,
    );
  }
  const nameOf = new Map(params.map(([name, v]) => [v.name, name]));
  const variables = params.map(([, v]) => v);
  let sum: LossAndGradients | undefined;
  for (let i = 0; i < microBatches; i++) {
    const next: LossAndGradients = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const loss = lossOf(i);
        if (loss.rank !== 0)
          throw new TrainingError(
            `The model's loss must be a scalar, but it returned shape [${loss.shape}]. Reduce it with a mean over the batch.`,
          );
        return loss as tf.Scalar;
      }, variables);
      const out: LossAndGradients = { loss: sum ? tf.add(sum.loss, value) : value, grads: {} };
      for (const [varName, g] of Object.entries(grads)) {
        const name = nameOf.get(varName) as string;
        const previous = sum?.grads[name];
        out.grads[name] = previous ? tf.add(previous, g) : g;
      }
      if (sum) for (const [name, g] of Object.entries(sum.grads)) out.grads[name] ??= tf.clone(g);
      return out;
    });
    if (sum) tf.dispose([sum.loss, ...Object.values(sum.grads)]);
    sum = next;
  }
  const total = sum as LossAndGradients;
  if (microBatches === 1) return total;
  const mean: LossAndGradients = tf.tidy(() => {
    const grads: Record<string, Tensor> = {};
    for (const [name, g] of Object.entries(total.grads)) grads[name] = tf.div(g, microBatches);
    return { loss: tf.div(total.loss, microBatches), grads };
  });
  tf.dispose([total.loss, ...Object.values(total.grads)]);
  return mean;
}
