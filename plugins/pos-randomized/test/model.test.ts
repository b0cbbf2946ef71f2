import { ConfigError, createRegistry, Rng, ShapeError, tf, UnknownKindError, type Tensor } from '@weft/core';
import { describeWithBackends, expectConfigRoundTrip, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import rope from '@weft/pos-rope';
import randomized from '@weft/pos-randomized';

const registry = () => createRegistry().use(standard, rope, randomized);
const base = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 64, seed: 2 };

describe('@weft/pos-randomized config', () => {
  it('validates the inner config through the registry and takes its capabilities', () => {
    const r = registry();
    const cfg = r.validate('positional', { kind: 'randomized', inner: 'rope' });
    expect(cfg).toEqual({ kind: 'randomized', inner: { kind: 'rope', base: 10000, fraction: 1, layout: 'interleaved' }, maxLength: 2048, evalPositions: 'sampled' });
    expect(r.capabilities('positional', cfg)).toEqual(r.capabilities('positional', r.validate('positional', 'rope')));
    expectConfigRoundTrip(r, 'positional', { kind: 'randomized', inner: { kind: 'sinusoidal' }, maxLength: 100 });
  });

  it('bad options name the field, the value and the fix', () => {
    const r = registry();
    expect(() => r.validate('positional', { kind: 'randomized', inner: { kind: 'rop' } }, 'positional')).toThrow(UnknownKindError as never);
    expect(() => r.validate('positional', { kind: 'randomized', inner: { kind: 'rop' } }, 'positional')).toThrow(/positional\.inner\.kind: No positional kind "rop".*Did you mean "rope"/);
    expect(() => r.validate('positional', { kind: 'randomized', inner: 'rope', maxLength: 10.5 }, 'positional')).toThrow(
      /positional\.maxLength: maxLength is the number of simulated positions L: use a whole number \(paper: 2048\); got 10\.5/,
    );
    expect(() => r.validate('positional', { kind: 'randomized', inner: 'rope', evalPositions: 'fixed' }, 'positional')).toThrow(/positional\.evalPositions: evalPositions must be "sampled".*; got "fixed"/);
    const nested = () => buildModel(r, { ...base, positional: { kind: 'randomized', inner: { kind: 'randomized', inner: 'rope' } } });
    expect(nested).toThrow(ConfigError as never);
    expect(nested).toThrow(/positional\.inner: a randomized encoding cannot wrap another randomized encoding/);
    expect(() => buildModel(r, { ...base, positional: { kind: 'randomized', inner: 'none' } })).toThrow(/positional\.inner: wrapping "none" does nothing/);
  });
});

describeWithBackends('randomized positions in a causal LM', () => {
  const config = (extra: object = {}) => ({ ...base, positional: { kind: 'randomized', inner: { kind: 'rope' }, maxLength: 32, ...extra } });

  it('training forwards are deterministic per rng seed and differ between seeds; too-long inputs fail with the fix', () => {
    const model = buildModel(registry(), config()) as CausalLM;
    const ids = tf.tensor2d([[1, 5, 2, 9, 4, 4, 7, 3]], [1, 8], 'int32');
    const run = (seed: number) => tf.tidy(() => Array.from(model.forward(ids, { training: true, rng: new Rng(seed) }).dataSync()));
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    const long = tf.zeros([1, 40], 'int32');
    expect(() => model.forward(long, { training: true })).toThrow(ShapeError as never);
    expect(() => model.forward(long, { training: true })).toThrow(/needs 40 distinct positions, but maxLength is 32\. Raise "maxLength"/);
    tf.dispose([ids, long]);
    model.dispose();
  });

  it("evalPositions 'contiguous': eval equals the plain inner encoding, and cached decoding equals the forward", () => {
    const model = buildModel(registry(), config({ evalPositions: 'contiguous' })) as CausalLM;
    const plain = buildModel(registry(), { ...base, positional: { kind: 'rope' } }) as CausalLM;
    const ids = tf.tensor2d([[1, 5, 2, 9, 4, 4, 7, 3], [3, 3, 8, 1, 0, 6, 2, 15]], [2, 8], 'int32');
    const full = model.forward(ids);
    const ref = plain.forward(ids);
    expectTensorsClose(full, ref, { atol: 1e-6, rtol: 1e-6 });
    const cache = model.initCache(2);
    const parts: Tensor[] = [];
    const prompt = ids.slice([0, 0], [2, 3]);
    parts.push(model.step(prompt, cache));
    for (let t = 3; t < 8; t++) {
      const tok = ids.slice([0, t], [2, 1]);
      parts.push(model.step(tok, cache));
      tok.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    cache.dispose();
    tf.dispose([ids, full, ref, prompt, stepped, ...parts]);
    expect(generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0 })).toEqual(generate(model, [[1, 2, 3]], { maxNewTokens: 4, temperature: 0, useCache: false }));
    model.dispose();
    plain.dispose();
  });

  it('trains with sampled positions (loss falls), without leaking tensors', async () => {
    // Each row holds one key token (0..7) among distractors (8..15); every later target is the key.
    const model = buildModel(registry(), { ...config(), layers: 1 }) as CausalLM;
    const data = new Rng(5);
    const [B, L] = [16, 8];
    const batch = () => {
      const rows: number[][] = [], targets: number[][] = [], mask: number[][] = [];
      for (let b = 0; b < B; b++) {
        const key = data.int(8);
        const at = data.int(3);
        rows.push(Array.from({ length: L }, (_, t) => (t === at ? key : 8 + data.int(8))));
        targets.push(new Array(L).fill(key));
        mask.push(Array.from({ length: L }, (_, t) => (t >= at ? 1 : 0)));
      }
      return { inputs: tf.tensor2d(rows, [B, L], 'int32'), targets: tf.tensor2d(targets, [B, L], 'int32'), lossMask: tf.tensor2d(mask, [B, L], 'float32') };
    };
    const opt = tf.train.adam(2e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets, b.lossMask]);
    }, 80);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses[0]).toBeGreaterThan(2.5);
    expect(mean(losses.slice(-10))).toBeLessThan(1.2);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);
