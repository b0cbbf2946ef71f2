import { createRegistry, Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose } from '@weft/core/testing';
import { buildModel, CausalLM, standard } from '@weft/nn';
import sparse from '@weft/attn-sparse-transformer';

describeWithBackends('sparse transformer in a causal LM', () => {
  it('cached decoding (model.step) equals model.forward (fixed, heads; strided, interleaved)', () => {
    for (const attention of [
      { kind: 'sparse-transformer', pattern: 'fixed', stride: 4, c: 1 },
      { kind: 'sparse-transformer', pattern: 'strided', stride: 3, factorization: 'interleaved' },
    ]) {
      const model = buildModel(createRegistry().use(standard, sparse), { vocab: 16, dModel: 16, layers: 2, heads: 2, maxLen: 32, seed: 2, attention }) as CausalLM;
      const seq = [[1, 5, 2, 9, 4, 4, 7, 3, 0, 12, 8, 1, 1, 6]];
      const ids = tf.tensor2d(seq, [1, seq[0].length], 'int32');
      const full = model.forward(ids);
      const cache = model.initCache(1);
      const parts: Tensor[] = [];
      for (const [start, n] of [[0, 4], [4, 3], ...Array.from({ length: 7 }, (_, t) => [7 + t, 1])]) {
        const chunk = ids.slice([0, start], [1, n]);
        parts.push(model.step(chunk, cache));
        chunk.dispose();
      }
      const stepped = tf.concat(parts, 1);
      expectTensorsClose(stepped, full, { atol: 1e-4, rtol: 1e-4 });
      cache.dispose();
      tf.dispose([ids, full, stepped, ...parts]);
      model.dispose();
    }
  });
});

describeWithBackends('sparse transformer: a tiny causal LM learns', () => {
  it('loss on a counting task falls, without leaking tensors', async () => {
    const model = buildModel(createRegistry().use(standard, sparse), {
      vocab: 16, dModel: 32, layers: 2, heads: 4, maxLen: 32,
      attention: { kind: 'sparse-transformer', pattern: 'strided', stride: 4 },
    }) as CausalLM;
    const data = new Rng(5);
    const batch = () => {
      const rows = Array.from({ length: 8 }, () => {
        const start = Math.floor(data.uniform() * 16);
        return Array.from({ length: 17 }, (_, t) => (start + 3 * t) % 16);
      });
      return { inputs: tf.tensor2d(rows.map((r) => r.slice(0, 16)), [8, 16], 'int32'), targets: tf.tensor2d(rows.map((r) => r.slice(1)), [8, 16], 'int32') };
    };
    const opt = tf.train.adam(1e-2);
    const rng = new Rng(0);
    const losses: number[] = [];
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 40);
    expect(losses[0]).toBeGreaterThan(2);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.5 * losses[0]);
    opt.dispose();
    model.dispose();
  });
}, ['wasm']);

describe('sparse transformer: config-time errors', () => {
  const registry = createRegistry().use(standard, sparse);
  const base = { vocab: 16, dModel: 16, layers: 1, heads: 2 };
  it('bad options name the field, the value and the fix', () => {
    expect(() => registry.validate('attention', { kind: 'sparse-transformer', stride: 0 }, 'attention')).toThrow(/attention\.stride: stride must be ≥ 1, e\.g\. 128.*got 0/);
    expect(() => registry.validate('attention', { kind: 'sparse-transformer', pattern: 'diagonal' }, 'attention')).toThrow(/attention\.pattern: pattern must be "strided" \(images, audio\) or "fixed" \(text\).*diagonal/);
    expect(() => buildModel(registry, { ...base, attention: { kind: 'sparse-transformer', pattern: 'fixed', stride: 4, c: 8 } })).toThrow(/attention\.c: c = 8 summary columns cannot exceed stride = 4; use c ≤ stride/);
  });
  it('needs ≥ 2 heads to split the sets across heads', () => {
    expect(() => buildModel(registry, { ...base, heads: 1, attention: { kind: 'sparse-transformer' } })).toThrow(/factorization: factorization "heads" splits the heads between A\(1\) and A\(2\), but the model has 1 head; use ≥ 2 heads or factorization "interleaved"/);
  });
});
