/** The temperatures inside a model: τ = 1 is a no-op, log-n decodes exactly, they train. */
import { Rng, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import rope from '@weft/pos-rope';
import temperature from '../src/index.js';

const registry = createRegistry().use(standard, rope, temperature);
const model = (positional: object): CausalLM => buildModel(registry, { vocab: 12, dModel: 16, layers: 2, heads: 2, maxLen: 64, positional }) as CausalLM;
const ids = [[1, 5, 2, 8, 3, 11, 0, 6], [4, 4, 9, 2, 7, 1, 10, 3]];

describeWithBackends('pos-temperature in a model', () => {
  it('τ = 1 (align, tempscale) equals the inner encoding alone; τ ≠ 1 changes the outputs', () => {
    const base = model({ kind: 'rope' });
    const x = tf.tensor2d(ids.flat(), [2, 8], 'int32');
    const ref = base.forward(x);
    for (const [positional, same] of [
      [{ kind: 'align', temperature: 1, inner: { kind: 'rope' } }, true],
      [{ kind: 'tempscale', temperature: 1, inner: { kind: 'rope' } }, true],
      [{ kind: 'tempscale', temperature: 0.5, inner: { kind: 'rope' } }, false],
      [{ kind: 'logn', inner: { kind: 'rope' } }, false],
    ] as const) {
      const m = model(positional);
      m.loadStateDict(base.stateDict());
      const y = m.forward(x);
      if (same) expectTensorsClose(y, ref, { atol: 1e-6, rtol: 1e-6 });
      else expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0])).toBeGreaterThan(1e-5); // tiny init: small but far above float noise
      tf.dispose(y);
      m.dispose();
    }
    tf.dispose([x, ref]);
    base.dispose();
  });

  for (const positional of [{ kind: 'logn', inner: { kind: 'rope' } }, { kind: 'logn', trainLength: 8 }, { kind: 'tempscale', temperature: 0.7 }]) {
    it(`${JSON.stringify(positional)}: cached decoding (model.step) equals the full forward pass`, () => {
      const m = model(positional);
      const full = m.forward(tf.tensor2d(ids.flat(), [2, 8], 'int32'));
      const cache = m.initCache(2);
      const prompt = tf.tensor2d(ids.map((r) => r.slice(0, 5)).flat(), [2, 5], 'int32');
      const parts: tf.Tensor[] = [m.step(prompt, cache)];
      for (let t = 5; t < 8; t++) {
        const x = tf.tensor2d(ids.map((r) => r[t]), [2, 1], 'int32');
        parts.push(m.step(x, cache));
        x.dispose();
      }
      const stepped = tf.concat(parts, 1);
      expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([full, prompt, stepped, ...parts]);
      cache.dispose();
      m.dispose();
    });
  }

  it('generate with log-n: cached tokens equal recomputed ones', () => {
    const m = model({ kind: 'logn', inner: { kind: 'rope' } });
    const a = generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0, useCache: true });
    const b = generate(m, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0, useCache: false });
    expect(a).toEqual(b);
    m.dispose();
  });

  for (const positional of [{ kind: 'logn', inner: { kind: 'rope' } }, { kind: 'tempscale', temperature: 0.8, inner: 'rope' }]) {
    it(`${JSON.stringify(positional)}: a tiny model trains (loss halves on a periodic sequence), without leaks`, async () => {
      const m = model(positional);
      const seq = Array.from({ length: 17 }, (_, i) => [3, 7, 1, 9, 4][i % 5]);
      const inputs = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
      const targets = tf.tensor2d([seq.slice(1, 17), [...seq.slice(2, 17), seq[2]]], [2, 16], 'int32');
      const opt = tf.train.adam(2e-2);
      const rng = new Rng(0);
      const losses: number[] = [];
      for (let step = 0; step < 40; step++) {
        const loss = opt.minimize(() => m.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar, true)!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
      await expectNoLeaks(() => {
        opt.minimize(() => m.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar);
      }, 2);
      opt.dispose();
      tf.dispose([inputs, targets]);
      m.dispose();
    });
  }
}, ['wasm']);
