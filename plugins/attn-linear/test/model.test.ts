import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, generate, standard } from '@weft/nn';
import rope from '@weft/pos-rope';
import linear, { linearStateBytes } from '@weft/attn-linear';

/** A stand-in ALiBi: any positional encoding with a logit bias. */
const fakeBias = definePlugin({
  name: '@weft/test-fake-bias',
  version: '0.0.0',
  provides: [
    positional('fake-bias', {
      capabilities: { embed: false, rotate: false, bias: true },
      create: () => ({ bias: (qp: Tensor, kp: Tensor) => tf.zeros([1, 1, qp.shape[1]!, kp.shape[1]!]) }),
    }),
    positional('fake-temperature', {
      capabilities: { embed: false, rotate: false, bias: false, logitScale: true },
      create: () => ({ logitScale: () => 2 }),
    }),
  ],
});

/** Feed a prompt of 4 tokens, then 3 at once, then one at a time; compare with one forward. */
function expectStepEqualsForward(model: CausalLM, seq: number[][]): { bytes: number[] } {
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
  return { bytes };
}

describeWithBackends('linear attention in a causal LM', () => {
  const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 32, positional: { kind: 'none' }, attention: { kind: 'linear', chunkSize: 4 } };
  const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5, 9, 9, 2, 4]];

  it('README usage snippet builds, runs and decodes', () => {
    // --- README "Use" snippet ---
    const registry = createRegistry().use(standard, linear);
    const model = buildModel(registry, {
      vocab: 256, dModel: 64, layers: 2, heads: 4,
      positional: { kind: 'none' },
      attention: { kind: 'linear', chunkSize: 64 },
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

  it('model.step == model.forward decoding from the kernel state (S, z), whose size is constant and equals the formula', () => {
    const model = buildModel(createRegistry().use(standard, linear), { ...config, seed: 3 }) as CausalLM;
    const cache = model.initCache(2);
    const empty = cache.bytes();
    cache.dispose();
    const { bytes } = expectStepEqualsForward(model, seq);
    // 2 layers × (S [B, Hkv, Dh, Dh] + z [B, Hkv, Dh]) float32, B = 2, Hkv = 4, Dh = 32 / 4 = 8.
    const perLayer = 4 * 2 * 4 * (8 * 8 + 8);
    expect(linearStateBytes(2, 4, 8)).toBe(perLayer);
    expect(empty).toBe(2 * perLayer);
    expect(bytes).toEqual(bytes.map(() => 2 * perLayer)); // after the prompt, after 3 tokens, after each single token
    model.dispose();
  });

  it('the default kvCache "full" config is not used: decoding memory does not grow with the context', () => {
    const model = buildModel(createRegistry().use(standard, linear), { ...config, kvCache: { kind: 'full' }, seed: 4 }) as CausalLM;
    const { bytes } = expectStepEqualsForward(model, seq);
    expect(new Set(bytes).size).toBe(1);
    model.dispose();
  });

  it('works with rotary (rope) and additive (sinusoidal) encodings, decoding included', () => {
    for (const pos of ['rope', 'sinusoidal']) {
      const model = buildModel(createRegistry().use(standard, linear, rope), { ...config, positional: { kind: pos }, seed: 5 }) as CausalLM;
      expectStepEqualsForward(model, seq);
      model.dispose();
    }
  });

  it('greedy generate agrees with and without the cache', () => {
    const model = buildModel(createRegistry().use(standard, linear), { ...config, seed: 6 }) as CausalLM;
    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

});

// Training runs on wasm only (the Node default backend): the pure-JS cpu backend takes ~10x longer.
describeWithBackends('linear attention: a tiny causal LM learns', () => {
  const config = { vocab: 16, dModel: 32, layers: 1, heads: 4, maxLen: 32, positional: { kind: 'none' }, attention: { kind: 'linear', chunkSize: 4 } };

  it('trains: loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, linear), config) as CausalLM;
    const data = new Rng(5);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => {
        const start = Math.floor(data.uniform() * 16);
        return Array.from({ length: 13 }, (_, t) => (start + 3 * t) % 16);
      });
      return {
        inputs: tf.tensor2d(rows.map((r) => r.slice(0, 12)), [8, 12], 'int32'),
        targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 12], 'int32'),
      };
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

describe('linear attention: config-time errors', () => {
  const base = { vocab: 16, dModel: 32, layers: 1, heads: 4 };

  it('refuses a logit-bias positional encoding (ALiBi-style), saying what to change', () => {
    const build = () => buildModel(createRegistry().use(standard, linear, fakeBias), { ...base, positional: { kind: 'fake-bias' }, attention: { kind: 'linear' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/positional encoding "fake-bias" adds a logit bias, but attention kernel "linear" cannot apply one/);
    expect(build).toThrow(/rotary\/additive encoding/);
  });

  it('refuses a logit-scaling positional encoding (no logits to scale)', () => {
    const build = () => buildModel(createRegistry().use(standard, linear, fakeBias), { ...base, positional: { kind: 'fake-temperature' }, attention: { kind: 'linear' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/"fake-temperature" rescales attention logits, but linear attention has no logits to scale.*Use a rotary or additive encoding/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, linear);
    expect(() => registry.validate('attention', { kind: 'linear', chunkSize: 0 }, 'attention')).toThrow(/attention\.chunkSize: chunkSize must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'linear', chunkSize: 2.5 }, 'attention')).toThrow(/chunkSize must be a whole number.*got 2\.5/);
    expect(() => registry.validate('attention', { kind: 'linear', eps: -1 }, 'attention')).toThrow(/attention\.eps: eps must be > 0.*use 1e-6.*got -1/);
    expect(() => registry.validate('attention', { kind: 'linear', chunk: 8 }, 'attention')).toThrow(/attention\.chunk: attention "linear" has no option "chunk" \(options: chunkSize, eps\)/);
  });
});
