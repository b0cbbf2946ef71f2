import { createRegistry, definePlugin, IncompatibleError, positional, Rng, tf } from '@weft/core';
import { describeWithBackends, expectNoLeaks } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import galerkin from '@weft/attn-galerkin';

const fakeTemperature = definePlugin({
  name: '@weft/test-fake-temperature',
  version: '0.0.0',
  provides: [positional('fake-temperature', { capabilities: { embed: false, rotate: false, bias: false, logitScale: true }, create: () => ({ logitScale: () => 2 }) })],
});

describeWithBackends('galerkin / fourier in a classifier', () => {
  for (const kind of ['galerkin', 'fourier']) {
    it(`${kind}: a tiny encoder classifier learns (loss falls), layer norms are model parameters, no leaks`, async () => {
      const model = buildModel(createRegistry().use(standard, galerkin), { vocab: 16, dModel: 32, layers: 1, heads: 4, task: 'classifier', classes: 2, attention: { kind }, seed: 1 }) as unknown as EncoderClassifier;
      expect(model.namedParameters().filter(([n]) => /kernel\.norm[QKV]\.(gain|bias)$/.test(n))).toHaveLength(4);
      const data = new Rng(9);
      const batch = () => {
        const rows = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => Math.floor(data.uniform() * 16)));
        const labels = rows.map((r) => (r.filter((t) => t < 8).length > 4 ? 1 : 0)); // label: more than half of the tokens are < 8
        return { inputs: tf.tensor2d(rows, [16, 8], 'int32'), targets: tf.tensor1d(labels, 'int32') };
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
      opt.dispose();
      model.dispose();
    });
  }
}, ['wasm']);

describe('galerkin / fourier: config-time errors', () => {
  const base = { vocab: 16, dModel: 32, layers: 1, heads: 4 };

  it('refuses a causal language model (bidirectional only)', () => {
    const build = () => buildModel(createRegistry().use(standard, galerkin), { ...base, attention: { kind: 'galerkin' } });
    expect(build).toThrow(IncompatibleError as never);
    expect(build).toThrow(/attention kernel "galerkin" cannot do causal attention, but this model is causal/);
  });

  it('refuses a logit-scaling positional encoding', () => {
    const build = () => buildModel(createRegistry().use(standard, galerkin, fakeTemperature), { ...base, task: 'classifier', classes: 2, positional: { kind: 'fake-temperature' }, attention: { kind: 'fourier' } });
    expect(build).toThrow(/"fake-temperature" rescales attention logits, but fourier attention has no softmax logits to scale/);
  });

  it('bad options name the field, the value and the fix', () => {
    const registry = createRegistry().use(standard, galerkin);
    expect(() => registry.validate('attention', { kind: 'galerkin', eps: 0 }, 'attention')).toThrow(/attention\.eps: eps must be > 0.*use 1e-5.*got 0/);
    expect(() => registry.validate('attention', { kind: 'fourier', scale: 2 }, 'attention')).toThrow(/attention\.scale: attention "fourier" has no option "scale" \(options: eps\)/);
  });
});
