/** RoPE inside a model: it trains, cached decoding equals recomputation, and the README snippet runs. */
import { Rng, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import rope from '../src/index.js';

function tinyModel(layout: 'interleaved' | 'half-split' = 'interleaved'): CausalLM {
  return buildModel(createRegistry().use(standard, rope), {
    vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 64,
    positional: { kind: 'rope', layout, fraction: 0.5 },
  }) as CausalLM;
}

describeWithBackends('pos-rope in a model', () => {
  it('a tiny model with rope trains: loss falls on a periodic sequence', () => {
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

  for (const layout of ['interleaved', 'half-split'] as const) {
    it(`${layout}: cached decoding (model.step) equals the full forward pass`, () => {
      const model = tinyModel(layout);
      const ids = [[1, 5, 2, 8, 3, 11, 0, 6], [4, 4, 9, 2, 7, 1, 10, 3]];
      const full = model.forward(tf.tensor2d(ids.flat(), [2, 8], 'int32')); // [2, 8, V]
      const cache = model.initCache(2);
      const parts: tf.Tensor[] = [];
      const prompt = tf.tensor2d(ids.map((r) => r.slice(0, 5)).flat(), [2, 5], 'int32');
      parts.push(model.step(prompt, cache)); // 5 tokens at once
      for (let t = 5; t < 8; t++) {
        const x = tf.tensor2d(ids.map((r) => r[t]), [2, 1], 'int32');
        parts.push(model.step(x, cache)); // then one at a time
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
    const model = tinyModel('half-split');
    const cached = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 6, temperature: 0, useCache: true });
    const recomputed = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 6, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

  it('the README "Use" snippet runs', () => {
    // --- README snippet (keep in sync with README.md § Use) ---
    // import { createRegistry, Rng, tf } from '@weft/core';
    // import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
    // import rope from '@weft/pos-rope';
    const model = buildModel(createRegistry().use(standard, rope), {
      vocab: 32, dModel: 32, layers: 2, heads: 4, maxLen: 256,
      positional: { kind: 'rope', base: 10000, fraction: 1, layout: 'interleaved' },
    }) as CausalLM;
    const inputs = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5, 6, 7, 8, 9]], [1, 8], 'int32');
    const optimizer = tf.train.adam(1e-3);
    const rng = new Rng(0);
    optimizer.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar);
    const [continuation] = generate(model, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0 });
    // --- end snippet ---
    expect(continuation).toHaveLength(5);
    optimizer.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('no tensors leak across training steps', async () => {
    const { expectNoLeaks } = await import('@weft/core/testing');
    const model = tinyModel();
    const inputs = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5]], [1, 4], 'int32');
    const opt = tf.train.sgd(1e-2);
    const rng = new Rng(1);
    await expectNoLeaks(() => {
      opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar);
    }, 5);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });
});
