import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, positionalConformance } from '@weft/core/testing';
import { NopeEncoding } from '@weft/pos-nope';
import { attentionLayer, randomWeights } from './helpers.js';
import { naiveNopeLayer } from './naive.js';

const B = 2, L = 7, D = 16, H = 4;
const LAMBDA = [0.5, 1, 1.7, 3];

positionalConformance('nope (λ = 1)', () => new NopeEncoding([1, 1, 1, 1], false, new Rng(0)), { heads: H, headDim: D / H, dModel: D });
positionalConformance('nope (learned λ)', () => new NopeEncoding(LAMBDA, true, new Rng(0)), { heads: H, headDim: D / H, dModel: D });

describeWithBackends('NoPE attention layer', () => {
  const rng = new Rng(21);

  it('logitScale: a number for one shared fixed λ, [H] values otherwise', () => {
    expect(new NopeEncoding([1, 1, 1, 1], false, rng).logitScale()).toBe(1);
    expect(new NopeEncoding([2, 2, 2, 2], false, rng).logitScale()).toBe(2);
    for (const learned of [false, true]) {
      const enc = new NopeEncoding(LAMBDA, learned, rng);
      const s = enc.logitScale() as Tensor;
      expectTensorsClose(s, LAMBDA, { atol: 1e-7 });
      s.dispose();
      enc.dispose();
    }
  });

  for (const causal of [true, false]) {
    it(`${causal ? 'causal' : 'bidirectional'}: softmax(λ_h q kᵀ/√Dh) equals the naive loop reference, for fixed and learned λ`, () => {
      const w = randomWeights(D, rng);
      const x = rng.normalTensor([B, L, D]);
      const ref = naiveNopeLayer(x.dataSync(), w, LAMBDA, { B, L, D, H }, causal);
      for (const learned of [false, true]) {
        const layer = attentionLayer(new NopeEncoding(LAMBDA, learned, rng), { D, H }, w);
        const ctx = makeForwardContext(B, L, { causal });
        const y = layer.forward(x, ctx);
        expectTensorsClose(y, ref, { atol: 1e-4, rtol: 1e-4 });
        tf.dispose([y, ctx.positions]);
        layer.dispose();
      }
      x.dispose();
    });
  }

  it('the temperature really acts: λ ≠ 1 changes the output, and λ = 1 is the layer without any encoding', () => {
    const w = randomWeights(D, rng);
    const x = rng.normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const plain = attentionLayer(new NopeEncoding([1, 1, 1, 1], false, rng), { D, H }, w);
    const tempered = attentionLayer(new NopeEncoding(LAMBDA, false, rng), { D, H }, w);
    const none = attentionLayer({}, { D, H }, w);
    const [a, b, c] = [plain.forward(x, ctx), tempered.forward(x, ctx), none.forward(x, ctx)];
    expectTensorsClose(a, c, { atol: 1e-6, rtol: 1e-6 });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    expect(diff).toBeGreaterThan(1e-2);
    tf.dispose([a, b, c, x, ctx.positions]);
    [plain, tempered, none].forEach((m) => m.dispose());
  });

  it('bidirectional NoPE is permutation-equivariant: permuting tokens permutes the outputs', () => {
    const layer = attentionLayer(new NopeEncoding(LAMBDA, false, rng), { D, H }, randomWeights(D, rng));
    const x = rng.normalTensor([B, L, D]);
    const perm = rng.shuffle(Array.from({ length: L }, (_, i) => i));
    const idx = tf.tensor1d(perm, 'int32');
    const ctx = makeForwardContext(B, L, { causal: false });
    const [permutedOut, outOfPermuted] = tf.tidy(() => [tf.gather(layer.forward(x, ctx), idx, 1), layer.forward(tf.gather(x, idx, 1), ctx)]);
    expectTensorsClose(outOfPermuted, permutedOut, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x, idx, permutedOut, outOfPermuted, ctx.positions]);
    layer.dispose();
  });

  it('gradient of the layer output with respect to λ matches finite differences', () => {
    const w = randomWeights(D, rng);
    const x = rng.normalTensor([1, 5, D]);
    const enc = new NopeEncoding(LAMBDA, true, rng);
    const layer = attentionLayer(enc, { D, H }, w);
    const ctx = makeForwardContext(1, 5);
    const lambda = enc.lambda!;
    const f = (l: Tensor) =>
      tf.tidy(() => {
        lambda.assign(l);
        return tf.sum(tf.square(layer.forward(x, ctx))) as tf.Scalar;
      });
    // λ is a Variable: compare tfjs's d/dλ with central differences taken by assigning λ ± ε.
    const start = tf.tensor1d(LAMBDA);
    const analytic = tf.tidy(() => {
      lambda.assign(start);
      return tf.variableGrads(() => tf.sum(tf.square(layer.forward(x, ctx))) as tf.Scalar, [lambda]).grads[lambda.name].clone();
    });
    const eps = 1e-2;
    const numeric = LAMBDA.map((_, h) => {
      const at = (d: number) => f(tf.tidy(() => tf.add(start, tf.oneHot([h], H).reshape([H]).mul(d)))).dataSync()[0];
      return (at(eps) - at(-eps)) / (2 * eps);
    });
    expectTensorsClose(analytic, numeric, { atol: 2e-2, rtol: 2e-2 });
    tf.dispose([x, start, analytic, ctx.positions]);
    layer.dispose();
  });
});

// Produced by tools/parity/pos-nope.py (PyTorch port, float64).
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'nope.json'), 'utf8'));

describeWithBackends('NoPE parity with the PyTorch port', () => {
  const { B: b, L: l, D: d, H: h } = fx.dims;
  for (const [name, causal, lambda] of [
    ['causal', true, fx.lambda],
    ['bidirectional', false, fx.lambda],
    ['causalPlain', true, [1, 1, 1, 1]],
  ] as const) {
    it(`${name} layer output matches to 1e-5`, () => {
      const layer = attentionLayer(new NopeEncoding(lambda as number[], false, new Rng(0)), { D: d, H: h }, fx);
      const x = tf.tensor3d(fx.x, [b, l, d]);
      const ctx = makeForwardContext(b, l, { causal });
      const y = layer.forward(x, ctx);
      expectTensorsClose(y, fx[name], { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([x, y, ctx.positions]);
      layer.dispose();
    });
  }
});
