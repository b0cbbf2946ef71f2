/** Each Giraffe scaling inside a tiny causal LM: it trains (loss falls) without leaking tensors. */
import { Rng, createRegistry, tf } from '@weft/core';
import { describeWithBackends } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import scaling from '../src/index.js';

const METHODS = [
  { method: 'linear', scale: 4 },
  { method: 'power', power: 1, scale: 2 },
  { method: 'truncated', a: 0.01, b: 0.2, rho: 0.005, scale: 2 },
] as const;

describeWithBackends('pos-rope-scaling in a model', () => {
  for (const positional of METHODS) {
    it(`${positional.method}: a tiny model trains (loss falls) on a periodic sequence`, () => {
      const model = buildModel(createRegistry().use(standard, scaling), {
        vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 64,
        positional: { kind: 'rope-scaling', ...positional },
      }) as CausalLM;
      const seq = Array.from({ length: 18 }, (_, i) => [3, 7, 1, 9, 4][i % 5]);
      const inputs = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
      const targets = tf.tensor2d([seq.slice(1, 17), seq.slice(2, 18)], [2, 16], 'int32');
      const opt = tf.train.adam(2e-2);
      const rng = new Rng(0);
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let step = 0; step < 40; step++) {
        const loss = opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar, true)!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
        if (step === 1) expect(tf.memory().numTensors).toBeGreaterThan(before); // optimizer slots now exist
      }
      const settled = tf.memory().numTensors;
      const loss = opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar, true)!;
      loss.dispose();
      expect(tf.memory().numTensors).toBe(settled); // no leak per step
      expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
      opt.dispose();
      tf.dispose([inputs, targets]);
      model.dispose();
    });
  }
}, ['wasm']);
