import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, generate, standard, type EncoderClassifier } from '@weft/nn';
import cottention, { cottentionStateBytes } from '@weft/attn-cottention';

const fakePositional = definePlugin({
  name: '@weft/test-fake-positional',
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

/** Feed a prompt of 4 tokens, then 3 at once, then one at a time; compare with one forward. Returns the cache size after each step. */
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

const mParams = (model: CausalLM) => model.namedParameters().filter(([n]) => /kernel\.m$/.test(n));

describeWithBackends('cottention in a causal LM', () => {
  const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 32, positional: { kind: 'none' }, attention: { kind: 'cottention', chunkSize: 4 } };
  const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5, 9, 9, 2, 4]];

  it('m_h is a parameter of every layer (trained and saved with the model), one per head', () => {
    const model = buildModel(createRegistry().use(standard, cottention), { ...config, seed: 2 }) as CausalLM;
    const ms = mParams(model);
    expect(ms).toHaveLength(2);
    expect(ms[0][0]).toMatch(/0\..*mixer\.kernel\.m$/);
    expect(ms[1][0]).toMatch(/1\..*mixer\.kernel\.m$/);
    for (const [, p] of ms) expect(p.shape).toEqual([4]);
    expect(Object.keys(model.stateDict()).filter((n) => /kernel\.m$/.test(n))).toHaveLength(2);
    model.dispose();
  });

  it('model.step == model.forward (prompt, then 3 tokens, then one at a time); ModelCache.bytes() is constant and equals the formula', () => {
    const model = buildModel(createRegistry().use(standard, cottention), { ...config, seed: 3 }) as CausalLM;
    // Make the heads' exponents differ, so the test would see a mix-up of heads or positions.
    mParams(model).forEach(([, p], i) => p.assign(tf.tensor1d([-2, 0, 1.5, 4].map((x) => x + i))));
    const cache = model.initCache(2);
    const empty = cache.bytes();
    cache.dispose();
    const bytes = expectStepEqualsForward(model, seq);
    // 2 layers × S [B, H, Dh, Dh] float32, B = 2, H = 4, Dh = 8.
    const perLayer = 4 * 2 * 4 * 8 * 8;
    expect(cottentionStateBytes(2, 4, 8)).toBe(perLayer);
    expect(empty).toBe(2 * perLayer);
    expect(bytes).toEqual(bytes.map(() => 2 * perLayer));
    model.dispose();
  });

  it('greedy generate agrees with and without the cache', () => {
    const model = buildModel(createRegistry().use(standard, cottention), { ...config, seed: 6 }) as CausalLM;
    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

  it('a bidirectional classifier builds and runs (s = L form)', () => {
    const model = buildModel(createRegistry().use(standard, cottention), { vocab: 16, dModel: 32, layers: 1, heads: 4, task: 'classifier', classes: 3, attention: { kind: 'cottention' } }) as unknown as EncoderClassifier;
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    const out = model.forward(ids);
    expect(out.shape).toEqual([1, 3]);
    tf.dispose([ids, out]);
    model.dispose();
  });
});

describeWithBackends('cottention: a tiny causal LM learns', () => {
  it('trains: loss on a counting task falls, m_h moves, no tensor leaks', async () => {
    const model = buildModel(createRegistry().use(standard, cottention), { vocab: 16, dModel: 32, layers: 1, heads: 4, positional: { kind: 'none' }, attention: { kind: 'cottention', chunkSize: 4 } }) as CausalLM;
    const m0 = Array.from(mParams(model)[0][1].dataSync());
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
    const m1 = Array.from(mParams(model)[0][1].dataSync());
    expect(Math.max(...m1.map((x, i) => Math.abs(x - m0[i])))).toBeGreaterThan(1e-3);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('cottention: config-time errors', () => {
  const base = { vocab: 16, dModel: 32, layers: 1, heads: 4 };

  it('refuses a logit-bias positional encoding (ALiBi-style)', () => {
    const build = () => buildModel(createRegistry().use(standard, cottention, fakePositional), { ...base, positional: { kind: 'fake-bias' }, attention: { kind: 'cottention' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/positional encoding "fake-bias" adds a logit bias, but attention kernel "cottention" cannot apply one/);
  });

  it('refuses a logit-scaling positional encoding (no logits to scale)', () => {
    const build = () => buildModel(createRegistry().use(standard, cottention, fakePositional), { ...base, positional: { kind: 'fake-temperature' }, attention: { kind: 'cottention' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/"fake-temperature" rescales attention logits, but cottention has no softmax logits to scale.*Use a rotary or additive encoding/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, cottention);
    expect(() => registry.validate('attention', { kind: 'cottention', chunkSize: 0 }, 'attention')).toThrow(/attention\.chunkSize: chunkSize must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'cottention', chunkSize: 2.5 }, 'attention')).toThrow(/chunkSize must be a whole number.*got 2\.5/);
    expect(() => registry.validate('attention', { kind: 'cottention', m: 1 }, 'attention')).toThrow(/attention\.m: attention "cottention" has no option "m" \(options: chunkSize\)/);
  });
});
