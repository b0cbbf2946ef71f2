/**
 * Hedgehog's attention distillation (the paper's first training stage): train only the feature
 * maps so that each layer's Hedgehog weights match the softmax weights the same q, k would give.
 *
 *   loss = Σ_layers mean_i KL( softmax(scale · q_i·kᵀ) ‖ a_i )        (see `attentionKL`)
 *
 * `distillationLoss(model, ids)` runs the model's forward with every Hedgehog kernel recording
 * its KL and returns their sum; minimise it over `featureMapParameters(model)` only, e.g.
 *   opt.minimize(() => distillationLoss(model, ids), true, featureMapParameters(model))
 * `hedgehogDistillation(...)` wraps that as a trainer hook (`beforeStep`) for @weft/train loops.
 */
import { tf, type Module, type Tensor, type TrainerHooks } from '@weft/core';
import { HedgehogAttention } from './hedgehog.js';

export function hedgehogKernels(model: Module): HedgehogAttention[] {
  return model.namedModules().map(([, m]) => m).filter((m): m is HedgehogAttention => m instanceof HedgehogAttention);
}

/** The trainable feature-map variables (W, b of every Hedgehog kernel). */
export function featureMapParameters(model: Module): tf.Variable[] {
  return hedgehogKernels(model).flatMap((k) => [k.W, k.b]);
}

/** Σ over Hedgehog layers of the attention KL for one forward of `ids` [B, L]. */
export function distillationLoss(model: Module & { forward(ids: Tensor): Tensor }, ids: Tensor): tf.Scalar {
  const kernels = hedgehogKernels(model);
  if (kernels.length === 0) throw new Error('distillationLoss: the model has no hedgehog attention layer; use attention { kind: "hedgehog" }');
  const losses: tf.Scalar[] = [];
  for (const k of kernels) k.distillation = losses;
  try {
    const out = model.forward(ids);
    out.dispose();
  } finally {
    for (const k of kernels) k.distillation = undefined;
  }
  const total = tf.addN(losses) as tf.Scalar;
  tf.dispose(losses);
  return total;
}

/**
 * A trainer hook that runs `steps` distillation steps (feature maps only, Adam at `learningRate`)
 * on `ids` before each of the first `untilStep` training steps. `dispose()` frees its optimizer.
 */
export function hedgehogDistillation(
  model: Module & { forward(ids: Tensor): Tensor },
  ids: () => Tensor,
  options: { learningRate?: number; untilStep?: number } = {},
): TrainerHooks & { lastLoss?: number; dispose(): void } {
  const opt = tf.train.adam(options.learningRate ?? 1e-2);
  const hook: TrainerHooks & { lastLoss?: number; dispose(): void } = {
    dispose: () => opt.dispose(),
    beforeStep: (step: number) => {
      if (step >= (options.untilStep ?? Infinity)) return;
      const batch = ids();
      const loss = opt.minimize(() => distillationLoss(model, batch), true, featureMapParameters(model))!;
      hook.lastLoss = loss.dataSync()[0];
      tf.dispose([loss, batch]);
    },
  };
  return hook;
}
