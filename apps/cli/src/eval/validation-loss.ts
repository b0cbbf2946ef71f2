/**
 * Held-out loss of a language model on text: the first `maxBatches` contiguous windows of
 * the validation split, so every call measures the same tokens. Bits per byte is the loss in
 * bits divided by the bytes per token (1 for the byte tokenizer).
 */
import { Rng, tf } from '@weft/core';
import type { CausalLM } from '@weft/nn';
import { evalBatches } from '@weft/tasks';

export interface ValidationLoss {
  /** Mean next-token cross-entropy in nats. */
  loss: number;
  bitsPerByte: number;
  tokens: number;
}

export function validationLoss(model: CausalLM, tokens: Int32Array, options: { batch: number; seq: number; maxBatches: number; bytesPerToken?: number }): ValidationLoss {
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  let count = 0;
  const rng = new Rng(0);
  try {
    for (const batch of evalBatches(tokens, { batchSize: options.batch, seqLen: options.seq, maxBatches: options.maxBatches })) {
      try {
        const n = batch.targets.size;
        const loss = tf.tidy(() => model.loss(batch, { training: false, rng }));
        sum += loss.dataSync()[0] * n;
        count += n;
        loss.dispose();
      } finally {
        tf.dispose(Object.values(batch));
      }
    }
  } finally {
    model.train(wasTraining);
  }
  const loss = sum / count;
  return { loss, bitsPerByte: loss / Math.LN2 / (options.bytesPerToken ?? 1), tokens: count };
}
