import { createRegistry, IncompatibleError, definePlugin, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, generate, standard, type CausalLM } from '@weft/nn';
import hedgehog, { distillationLoss, featureMapParameters, hedgehogDistillation, hedgehogStateBytes } from '@weft/attn-hedgehog';

const fakeTemperature = definePlugin({
  name: '@weft/test-fake-temperature',
  version: '0.0.0',
  provides: [positional('fake-temperature', { capabilities: { embed: false, rotate: false, bias: false, logitScale: true }, create: () => ({ logitScale: () => 2 }) })],
});

const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 16, attention: { kind: 'hedgehog' } };

describeWithBackends('hedgehog in a causal LM', () => {
  it('model.step == model.forward (a 4-token prompt, then 3, then 1 at a time) from the kernel state, whose size is constant; no leaks', () => {
    const model = buildModel(createRegistry().use(standard, hedgehog), { ...config, attention: { kind: 'hedgehog', chunkSize: 4 }, seed: 7 }) as CausalLM;
    const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8], [3, 3, 8, 1, 0, 6, 2, 15, 5, 5, 9]];
    const ids = tf.tensor2d(seq, [2, 11], 'int32');
    const full = model.forward(ids);
    const before = tf.memory().numTensors;
    const cache = model.initCache(2);
    // 2 layers × S [B, H, 2·Dh, Dh + 1] float32, B = 2, H = 4, Dh = 32 / 4 = 8.
    const perLayer = 4 * 2 * 4 * 16 * 9;
    expect(hedgehogStateBytes(2, 4, 8)).toBe(perLayer);
    const bytes = [cache.bytes()];
    const parts: Tensor[] = [];
    for (const [start, n] of [[0, 4], [4, 3], [7, 1], [8, 1], [9, 1], [10, 1]]) {
      const chunk = ids.slice([0, start], [2, n]);
      parts.push(model.step(chunk, cache));
      bytes.push(cache.bytes());
      chunk.dispose();
    }
    expect(bytes).toEqual(bytes.map(() => 2 * perLayer));
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([stepped, ...parts]);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, full]);
    model.dispose();
  });

  it('greedy generate agrees with and without the cache', () => {
    const model = buildModel(createRegistry().use(standard, hedgehog), { ...config, attention: { kind: 'hedgehog', chunkSize: 2 }, seed: 6 }) as CausalLM;
    const prompts = [[1, 5, 2, 9], [3, 3, 8, 1]];
    const cached = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: true });
    const recomputed = generate(model, prompts, { maxNewTokens: 8, temperature: 0, useCache: false });
    expect(cached).toEqual(recomputed);
    model.dispose();
  });

  it('distillationLoss: training only the feature maps lowers the summed attention KL of a model; other weights untouched; no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, hedgehog), { ...config, seed: 2 }) as CausalLM;
    const params = featureMapParameters(model);
    expect(params).toHaveLength(4); // W, b in each of 2 layers
    const other = model.namedParameters().find(([n]) => !/kernel\./.test(n))![1];
    const other0 = other.dataSync().slice();
    const data = new Rng(4);
    const ids = tf.tensor2d(Array.from({ length: 4 }, () => Array.from({ length: 12 }, () => Math.floor(data.uniform() * 16))), [4, 12], 'int32');
    const kl0 = tf.tidy(() => distillationLoss(model, ids).dataSync()[0]);
    const hook = hedgehogDistillation(model, () => ids.clone(), { learningRate: 3e-2, untilStep: 40 });
    await expectNoLeaks(() => hook.beforeStep!(0), 40);
    hook.beforeStep!(40); // past untilStep: no-op
    const kl1 = tf.tidy(() => distillationLoss(model, ids).dataSync()[0]);
    expect(kl1).toBeLessThan(0.7 * kl0);
    expect(Array.from(other.dataSync())).toEqual(Array.from(other0));
    hook.dispose();
    ids.dispose();
    model.dispose();
  });

  it('trains end to end: a tiny causal LM on a next-token map (t → 3t + 1 mod 16) — loss falls below 70%', () => {
    const model = buildModel(createRegistry().use(standard, hedgehog), { ...config, layers: 1, seed: 1 }) as CausalLM;
    const data = new Rng(3);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => Array.from({ length: 12 }, () => Math.floor(data.uniform() * 16)));
      return { inputs: tf.tensor2d(rows, [8, 12], 'int32'), targets: tf.tensor2d(rows.map((r) => r.map((t) => (3 * t + 1) % 16)), [8, 12], 'int32') };
    };
    const opt = tf.train.adam(1e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('hedgehog: config-time errors', () => {
  it('refuses a logit-scaling positional encoding', () => {
    const build = () => buildModel(createRegistry().use(standard, hedgehog, fakeTemperature), { ...config, positional: { kind: 'fake-temperature' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/"fake-temperature" rescales attention logits, but hedgehog attention has no logits to scale/);
  });

  it('bad chunk sizes name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, hedgehog);
    expect(() => registry.validate('attention', { kind: 'hedgehog', chunkSize: 0 }, 'attention')).toThrow(/attention\.chunkSize: chunkSize must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'hedgehog', chunkSize: 2.5 }, 'attention')).toThrow(/chunkSize must be a whole number.*got 2\.5/);
    expect(() => registry.validate('attention', { kind: 'hedgehog', chunkSize: '64' }, 'attention')).toThrow(/chunkSize must be a positive integer such as 64/);
  });

  it('unknown options are refused with the list of options', () => {
    const registry = createRegistry().use(standard, hedgehog);
    expect(() => registry.validate('attention', { kind: 'hedgehog', featureDim: 8 }, 'attention')).toThrow(/attention\.featureDim: attention "hedgehog" has no option "featureDim"/);
  });

  it('distillationLoss on a model without hedgehog layers says what to use', () => {
    const model = buildModel(createRegistry().use(standard, hedgehog), { ...config, attention: { kind: 'dense' } }) as CausalLM;
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    expect(() => distillationLoss(model, ids)).toThrow(/no hedgehog attention layer; use attention \{ kind: "hedgehog" \}/);
    ids.dispose();
    model.dispose();
  });
});
