import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import latte from '@weft/attn-latte';

const fakeTemperature = definePlugin({
  name: '@weft/test-fake-temperature',
  version: '0.0.0',
  provides: [positional('fake-temperature', { capabilities: { embed: false, rotate: false, bias: false, logitScale: true }, create: () => ({ logitScale: () => 2 }) })],
});

const config = { vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 16, attention: { kind: 'latte', latents: 6, chunkSize: 4 } };

describeWithBackends('latte in a causal LM', () => {
  it('model.step == model.forward, decoding from the kernel state (m, α, β), whose size is constant', () => {
    const model = buildModel(createRegistry().use(standard, latte), { ...config, seed: 3 }) as CausalLM;
    const seq = [[1, 5, 2, 9, 3, 3, 7, 0, 12, 4, 8], [2, 2, 6, 1, 15, 0, 3, 9, 9, 11, 5]];
    const [B, L] = [2, 11];
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
    // 2 layers × (m [B, H, L] + α [B, H, L, Dh] + β [B, H, L]) float32, B = 2, H = 4, L = 6, Dh = 8
    expect(bytes).toEqual(bytes.map(() => 2 * 4 * 2 * 4 * (6 + 6 * 8 + 6)));
    cache.dispose();
    tf.dispose([ids, full, stepped, ...parts]);
    model.dispose();
  });

  it('trains: a tiny causal LM on a next-token map (t → 3t + 1 mod 16) — loss falls below 70%, latent projections are trained, no leaks', async () => {
    const model = buildModel(createRegistry().use(standard, latte), { ...config, layers: 1, seed: 1 }) as CausalLM;
    const wq = model.namedParameters().find(([n]) => /kernel\.Wq$/.test(n))![1];
    const wq0 = wq.dataSync().slice();
    const data = new Rng(3);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => Array.from({ length: 12 }, () => Math.floor(data.uniform() * 16)));
      return { inputs: tf.tensor2d(rows, [8, 12], 'int32'), targets: tf.tensor2d(rows.map((r) => r.map((t) => (3 * t + 1) % 16)), [8, 12], 'int32') };
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
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    expect(Math.max(...Array.from(wq.dataSync(), (x, i) => Math.abs(x - wq0[i])))).toBeGreaterThan(1e-3);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('latte: config-time errors', () => {
  it('refuses a logit-scaling positional encoding', () => {
    const build = () => buildModel(createRegistry().use(standard, latte, fakeTemperature), { ...config, positional: { kind: 'fake-temperature' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/"fake-temperature" rescales attention logits, but latte attention has no token-to-token logits/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, latte);
    expect(() => registry.validate('attention', { kind: 'latte', latents: 0 }, 'attention')).toThrow(/attention\.latents: latents must be at least 1.*got 0/);
    expect(() => registry.validate('attention', { kind: 'latte', chunkSize: 1.5 }, 'attention')).toThrow(/attention\.chunkSize: chunkSize must be a whole number/);
  });
});
