/** CABLE in a model: trains, refuses cached decoding with a clear message, generates without the cache. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, IncompatibleError, Rng, StateError, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import cable, { VERSION } from '../src/index.js';

const registry = createRegistry().use(standard, cable);
const tinyModel = (): CausalLM => buildModel(registry, { vocab: 12, dModel: 16, layers: 2, heads: 2, maxLen: 64, positional: { kind: 'cable' } }) as CausalLM;

describeWithBackends('pos-cable in a model', () => {
  it('each layer owns its W and c; a tiny model trains (loss halves), without leaks', async () => {
    const model = tinyModel();
    const names = model.namedParameters().map(([n]) => n).filter((n) => n.includes('h_attn'));
    expect(names.length).toBe(4); // 2 layers × (weight, bias)
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
    await expectNoLeaks(() => {
      opt.minimize(() => model.loss({ inputs, targets }, { training: true, rng }) as tf.Scalar);
    }, 2);
    opt.dispose();
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it('cached decoding: the prompt step is fine, the next step throws a StateError that says to pass { useCache: false }', () => {
    const model = tinyModel();
    const cache = model.initCache(1);
    const prompt = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    model.step(prompt, cache).dispose();
    const next = tf.tensor2d([[4]], [1, 1], 'int32');
    let error: unknown;
    try {
      model.step(next, cache);
    } catch (e) {
      error = e;
    }
    expect(StateError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('Generation with CABLE recomputes the prefix: pass { useCache: false } to generate()');
    expect(() => generate(model, [[1, 2, 3]], { maxNewTokens: 3, temperature: 0 })).toThrow('{ useCache: false }');
    tf.dispose([prompt, next]);
    cache.dispose();
    model.dispose();
  });

  it('generate with { useCache: false } works and is greedy-consistent with forward()', () => {
    const model = tinyModel();
    const [out] = generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false });
    expect(out).toHaveLength(4);
    const logits = model.forward(tf.tensor2d([[1, 2, 3, ...out.slice(0, 3)]], [1, 6], 'int32'));
    const argmax = tf.tidy(() => tf.argMax(logits, -1).arraySync() as number[][]);
    expect(argmax[0].slice(2)).toEqual(out); // token t+1 is the argmax at position t
    logits.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('pos-cable config', () => {
  it('has no options; names the bad option', () => {
    expect(registry.validate('positional', { kind: 'cable' })).toEqual({ kind: 'cable' });
    expect(() => registry.validate('positional', { kind: 'cable', slope: 1 }, 'positional')).toThrow(/positional\.slope/);
    expect(registry.capabilities('positional', { kind: 'cable' })).toEqual({ embed: false, rotate: false, bias: true, perLayer: true });
  });
  it('a bidirectional model is refused with the fix', () => {
    let error: unknown;
    try {
      registry.check('positional', { kind: 'cable' }, { path: 'positional', causal: false });
    } catch (e) {
      error = e;
    }
    expect(IncompatibleError.isInstance(error) || ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/positional: CABLE is defined for causal.*alibi/s);
  });
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(cable.version).toBe(pkg.version);
  });
});
