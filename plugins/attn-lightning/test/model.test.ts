import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, generate, standard } from '@weft/nn';
import rope from '@weft/pos-rope';
import lightning, { lightningStateBytes } from '@weft/attn-lightning';

const fakeBias = definePlugin({
  name: '@weft/test-fake-bias',
  version: '0.0.0',
  provides: [
    positional('fake-bias', {
      capabilities: { embed: false, rotate: false, bias: true },
      create: () => ({ bias: (qp: Tensor, kp: Tensor) => tf.zeros([1, 1, qp.shape[1]!, kp.shape[1]!]) }),
    }),
  ],
});

function expectStepEqualsForward(model: CausalLM, seq: number[][]): number[] {
  const [B, L] = [seq.length, seq[0].length];
  const ids = tf.tensor2d(seq, [B, L], 'int32');
  const full = model.forward(ids);
  const cache = model.initCache(B);
  const parts: Tensor[] = [];
  const bytes: number[] = [];
  const feed = (start: number, n: number) => {
    const chunk = ids.slice([0, start], [B, n]);
    parts.push(model.step(chunk, cache));
    bytes.push(cache.bytes());
    chunk.dispose();
  };
  feed(0, 4);
  feed(4, 3);
  for (let t = 7; t < L; t++) feed(t, 1);
  const stepped = tf.concat(parts, 1);
  expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
  cache.dispose();
  tf.dispose([ids, full, stepped, ...parts]);
  return bytes;
}

describeWithBackends('lightning attention in a causal LM', () => {
  const config = { vocab: 16, dModel: 32, layers: 3, heads: 4, maxLen: 32, positional: { kind: 'none' }, attention: { kind: 'lightning', blockSize: 4 } };
  const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5, 9, 9, 2, 4]];

  it('README usage snippet builds, runs and decodes', () => {
    // --- README "Use" snippet ---
    const registry = createRegistry().use(standard, lightning);
    const model = buildModel(registry, {
      vocab: 256, dModel: 64, layers: 2, heads: 4,
      positional: { kind: 'none' },
      attention: { kind: 'lightning', blockSize: 64 },
    }) as CausalLM;
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32');
    const logits = model.forward(ids); // [1, 8, 256]
    const next = generate(model, [[1, 2, 3]], { maxNewTokens: 5, temperature: 0 });
    // --- end snippet ---
    expect(logits.shape).toEqual([1, 8, 256]);
    expect(next[0].length).toBeGreaterThanOrEqual(5);
    tf.dispose([ids, logits]);
    model.dispose();
  });

  it('model.step == model.forward decoding from the kernel state, whose size is constant and equals the formula', () => {
    const model = buildModel(createRegistry().use(standard, lightning), { ...config, seed: 3 }) as CausalLM;
    const cache = model.initCache(2);
    const empty = cache.bytes();
    cache.dispose();
    const bytes = expectStepEqualsForward(model, seq);
    // 3 layers × KV [B, H, Dh, Dh] float32, B = 2, H = 4, Dh = 32 / 4 = 8.
    const perLayer = 4 * 2 * 4 * 8 * 8;
    expect(lightningStateBytes(2, 4, 8)).toBe(perLayer);
    expect(empty).toBe(3 * perLayer);
    expect(bytes).toEqual(bytes.map(() => 3 * perLayer)); // after the prompt, after 3 tokens, after each single token
    model.dispose();
  });

  it('model.step == model.forward with rope and explicit decay; the default kvCache "full" config is not used', () => {
    const m = buildModel(createRegistry().use(standard, lightning, rope), {
      ...config, positional: { kind: 'rope' }, attention: { kind: 'lightning', blockSize: 3, decay: [0.5, 0.7, 0.9, 0.99] }, kvCache: { kind: 'full' }, seed: 5,
    }) as CausalLM;
    expect(new Set(expectStepEqualsForward(m, seq)).size).toBe(1);
    m.dispose();
  });

  it('greedy generate agrees with and without the cache', () => {
    const model = buildModel(createRegistry().use(standard, lightning), { ...config, seed: 6 }) as CausalLM;
    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });
});

describeWithBackends('lightning attention: a tiny causal LM learns', () => {
  it('trains: loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, lightning), { vocab: 16, dModel: 32, layers: 1, heads: 4, positional: { kind: 'none' }, attention: { kind: 'lightning', blockSize: 4 } }) as CausalLM;
    const data = new Rng(5);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => {
        const start = Math.floor(data.uniform() * 16);
        return Array.from({ length: 13 }, (_, t) => (start + 3 * t) % 16);
      });
      return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 12)), [8, 12], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 12], 'int32') };
    };
    const opt = tf.train.adam(1e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 60);
    expect(losses[0]).toBeGreaterThan(2);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('lightning attention: config-time errors', () => {
  const base = { vocab: 16, dModel: 32, layers: 1, heads: 4 };

  it('refuses a logit-bias positional encoding', () => {
    const build = () => buildModel(createRegistry().use(standard, lightning, fakeBias), { ...base, positional: { kind: 'fake-bias' }, attention: { kind: 'lightning' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/positional encoding "fake-bias" adds a logit bias, but attention kernel "lightning" cannot apply one/);
  });

  it('refuses a bidirectional model', () => {
    const build = () => buildModel(createRegistry().use(standard, lightning), { ...base, task: 'classifier', classes: 2, attention: { kind: 'lightning' } });
    expect(build).toThrow(/attention kernel "lightning" is causal-only, but this model is bidirectional/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, lightning);
    expect(() => registry.validate('attention', { kind: 'lightning', blockSize: 0 }, 'attention')).toThrow(/attention\.blockSize: blockSize must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'lightning', decay: [0.9, 1.5] }, 'attention')).toThrow(/attention\.decay\[1\]: each decay λ_h must be in \(0, 1\]: λ > 1 makes old tokens grow without bound; got 1\.5/);
    expect(() => registry.validate('attention', { kind: 'lightning', featureMap: 'relu' }, 'attention')).toThrow(/attention\.featureMap.*got "relu"/);
    const build = () => buildModel(registry, { ...base, attention: { kind: 'lightning', decay: [0.9, 0.99] } });
    expect(build).toThrow(ConfigError as never);
    expect(build).toThrow(/decay: gives 2 decay rates but the model has 4 heads; list one λ per head/);
  });

  it('VERSION is package.json’s', async () => {
    const { VERSION } = await import('@weft/attn-lightning');
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
