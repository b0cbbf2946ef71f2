/**
 * The main job's building blocks learn: a small causal LM trained with @weft/train on
 * @weft/tasks' synthetic copy and associative-recall tasks beats chance on the answer tokens
 * within a test-sized budget (wasm backend, a few hundred tiny steps).
 */
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import { createTask, taskSource, type SyntheticTask } from '@weft/tasks';
import { Trainer } from '@weft/train';

async function trainAndScore(task: SyntheticTask, steps: number, lr: number): Promise<number> {
  const model = buildModel(createRegistry().use(standard), {
    vocab: task.vocabSize,
    dModel: 32,
    layers: 2,
    heads: 2,
    maxLen: task.seqLen,
    positional: 'learned',
    seed: 1,
  }) as CausalLM;
  const trainer = new Trainer(model, { lr, warmupSteps: 10, clipNorm: 1, seed: 2, logEvery: 1000 });
  await trainer.train(taskSource(task, { batchSize: 32, seed: 3 }), { steps });
  const sample = task.sample(new Rng(99), 64);
  const predicted = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(sample.inputs, [sample.batchSize, sample.seqLen], 'int32'));
    return tf.argMax(logits, -1).dataSync() as Int32Array;
  });
  trainer.dispose();
  model.dispose();
  return task.score(predicted, sample).accuracy;
}

describe('a small model learns synthetic tasks above chance', () => {
  beforeAll(() => useBackend('wasm'));

  it('copy', async () => {
    const task = createTask('copy', { length: 6, symbols: 6 });
    const accuracy = await trainAndScore(task, 250, 3e-3);
    expect(accuracy).toBeGreaterThan(3 * (1 / 6)); // chance is 1/6 per answer token
  });

  it('associative recall', async () => {
    const task = createTask('associative-recall', { pairs: 4, queries: 2, keys: 8, values: 8 });
    const accuracy = await trainAndScore(task, 300, 3e-3);
    expect(accuracy).toBeGreaterThan(2 * (1 / 8)); // chance is 1/8 per answer
  });
});
