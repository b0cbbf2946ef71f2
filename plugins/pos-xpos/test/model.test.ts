/** xPos in a model: trains, cached decoding equals recomputation; config errors; README snippet. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, Rng, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import xpos, { VERSION } from '../src/index.js';

const tiny = () =>
  buildModel(createRegistry().use(standard, xpos), { vocab: 12, dModel: 16, layers: 1, heads: 2, maxLen: 64, positional: { kind: 'xpos', scaleBase: 32 } }) as CausalLM;

describeWithBackends('pos-xpos in a model', () => {
  it('trains: loss falls on a periodic sequence', () => {
    const model = tiny();
    const seq = Array.from({ length: 17 }, (_, i) => [3, 7, 1, 9, 4][i % 5]);
    const inputs = tf.tensor2d([seq.slice(0, 16)], [1, 16], 'int32');
    const targets = tf.tensor2d([seq.slice(1, 17)], [1, 16], 'int32');
    const opt = tf.train.adam(2e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    for (let s = 0; s < 30; s++) {
      const loss = opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('cached decoding (model.step) equals the full forward pass (fixed centre keeps cached keys valid)', () => {
    const model = tiny();
    const ids = [1, 5, 2, 8, 3, 11, 0, 6];
    const full = model.forward(tf.tensor2d([ids], [1, 8], 'int32'));
    const cache = model.initCache(1);
    const prompt = tf.tensor2d([ids.slice(0, 4)], [1, 4], 'int32');
    const parts = [model.step(prompt, cache)];
    for (let t = 4; t < 8; t++) {
      const x = tf.tensor2d([[ids[t]]], [1, 1], 'int32');
      parts.push(model.step(x, cache));
      x.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([full, prompt, stepped, ...parts]);
    cache.dispose();
    model.dispose();
  });

  it('the README "Use" snippet runs', () => {
    // --- README snippet ---
    const model = buildModel(createRegistry().use(standard, xpos), {
      vocab: 32, dModel: 32, layers: 2, heads: 4, maxLen: 512,
      positional: { kind: 'xpos', scaleBase: 512, gamma: 0.4, centre: 'auto' },
    }) as CausalLM;
    const [continuation] = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 });
    // --- end snippet ---
    expect(continuation).toHaveLength(4);
    model.dispose();
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(xpos);
    const msg = (config: object) => {
      try {
        registry.validate('positional', config, 'positional');
      } catch (e) {
        expect(ConfigError.isInstance(e)).toBe(true);
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(msg({ kind: 'xpos', scaleBase: 0 })).toMatch(/positional\.scaleBase.*512.*got 0/s);
    expect(msg({ kind: 'xpos', gamma: -1 })).toMatch(/positional\.gamma.*0\.4.*got -1/s);
    expect(msg({ kind: 'xpos', centre: 'middle' })).toMatch(/positional\.centre.*auto.*"middle"/s);
  });

  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
}, ['cpu']);
