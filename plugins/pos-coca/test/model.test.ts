/** CoCA inside a model: it trains, cached decoding equals the full forward, no leaks. */
import { Rng, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import coca from '../src/index.js';

const tinyModel = (layout: 'half-split' | 'interleaved' = 'half-split'): CausalLM =>
  buildModel(createRegistry().use(standard, coca), { vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 64, positional: { kind: 'coca', layout } }) as CausalLM;

describeWithBackends('pos-coca in a model', () => {
  it('a tiny model trains: loss falls on a periodic sequence', () => {
    const model = tinyModel();
    const seq = Array.from({ length: 17 }, (_, i) => [3, 7, 1, 9, 4][i % 5]);
    const inputs = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
    const targets = tf.tensor2d([seq.slice(1, 17), [...seq.slice(2, 17), seq[2]]], [2, 16], 'int32');
    const opt = tf.train.adam(2e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  for (const layout of ['half-split', 'interleaved'] as const) {
    it(`${layout}: cached decoding (model.step) equals the full forward pass`, () => {
      const model = tinyModel(layout);
      const ids = [[1, 5, 2, 8, 3, 11, 0, 6], [4, 4, 9, 2, 7, 1, 10, 3]];
      const full = model.forward(tf.tensor2d(ids.flat(), [2, 8], 'int32')); // [2, 8, V]
      const cache = model.initCache(2);
      const prompt = tf.tensor2d(ids.map((r) => r.slice(0, 5)).flat(), [2, 5], 'int32');
      const parts: tf.Tensor[] = [model.step(prompt, cache)];
      for (let t = 5; t < 8; t++) {
        const x = tf.tensor2d(ids.map((r) => r[t]), [2, 1], 'int32');
        parts.push(model.step(x, cache));
        x.dispose();
      }
      const stepped = tf.concat(parts, 1);
      expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([full, prompt, stepped, ...parts]);
      cache.dispose();
      model.dispose();
    });
  }

  it('generate: greedy tokens with the KV cache equal those from recomputing the prefix', () => {
    const model = tinyModel();
    const cached = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 5, temperature: 0, useCache: true });
    const recomputed = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 5, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

  it('no tensors leak across training steps', async () => {
    const model = tinyModel();
    const inputs = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5]], [1, 4], 'int32');
    const opt = tf.train.sgd(1e-2);
    const rng = new Rng(1);
    await expectNoLeaks(() => {
      opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar);
    }, 3);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });
}, ['wasm']);
