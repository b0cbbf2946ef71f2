import { init, Module, Rng, tf, useBackend } from '@weft/core';
import type { Tensor, Variable } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { accumulateGradients, clipByGlobalNorm, globalNorm } from '../src/index.js';

describe('clipByGlobalNorm', () => {
  beforeAll(() => useBackend('cpu'));

  const a = [3, -4, 1, 2];
  const b = [0.5, -2, 6];
  const norm = Math.sqrt([...a, ...b].reduce((s, x) => s + x * x, 0)); // sqrt(70.25) = 8.3815...

  it('scales every gradient by maxNorm / norm and returns the norm before clipping', () => {
    const grads = { a: tf.tensor2d(a, [2, 2]), b: tf.tensor1d(b) };
    const before = tf.memory().numTensors;
    const out = clipByGlobalNorm(grads, 2);
    expect(tf.memory().numTensors - before).toBe(3);
    expect(out.norm.dataSync()[0]).toBeCloseTo(norm, 5);
    const scale = 2 / (norm + 1e-6);
    expectTensorsClose(
      out.grads.a,
      a.map((x) => x * scale),
    );
    expectTensorsClose(
      out.grads.b,
      b.map((x) => x * scale),
    );
    const after = globalNorm(Object.values(out.grads));
    expect(after.dataSync()[0]).toBeCloseTo(2, 4);
    tf.dispose([out.norm, after, ...Object.values(out.grads), ...Object.values(grads)]);
  });

  it('leaves gradients below the threshold unchanged', () => {
    const grads = { a: tf.tensor1d(a) };
    const out = clipByGlobalNorm(grads, 100);
    expectTensorsClose(out.grads.a, a);
    tf.dispose([out.norm, ...Object.values(out.grads), grads.a]);
  });

  it('refuses a non-positive threshold', () => {
    expect(() => clipByGlobalNorm({}, 0)).toThrow(
      /clipNorm: got 0 \(number\); use a positive number/,
    );
  });
});

class Linear extends Module {
  readonly w: Variable;
  readonly b: Variable;
  constructor(rng: Rng) {
    super();
    this.w = this.addParameter('w', [3, 2], init.normal(1), rng.fork('w'));
    this.b = this.addParameter('b', [2], init.normal(1), rng.fork('b'));
  }
  /** Mean squared error of x @ w + b against y. */
  loss(x: Tensor, y: Tensor): Tensor {
    return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, this.w), this.b), y)));
  }
}

describe('accumulateGradients', () => {
  beforeAll(() => useBackend('cpu'));

  it('over 4 equal micro-batches equals one batch 4 times larger', () => {
    const model = new Linear(new Rng(3));
    const rng = new Rng(11);
    const x = rng.normalTensor([12, 3]);
    const y = rng.normalTensor([12, 2]);
    const params = model.namedParameters();
    const whole = accumulateGradients(params, 1, () => model.loss(x, y));
    const xs = tf.split(x, 4);
    const ys = tf.split(y, 4);
    const before = tf.memory().numTensors;
    const micro = accumulateGradients(params, 4, (i) => model.loss(xs[i], ys[i]));
    // Only the result survives: 1 loss + 2 gradients.
    expect(tf.memory().numTensors - before).toBe(3);
    expect(micro.loss.dataSync()[0]).toBeCloseTo(whole.loss.dataSync()[0], 5);
    expectTensorsClose(micro.grads.w, whole.grads.w, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(micro.grads.b, whole.grads.b, { atol: 1e-5, rtol: 1e-5 });
    // And the gradient itself is the hand-derived one: dL/db = 2·mean(xw + b − y) per output.
    const residual = tf.tidy(
      () => tf.sub(tf.add(tf.matMul(x, model.w), model.b), y).arraySync() as number[][],
    );
    const db = [0, 1].map((j) => (2 * residual.reduce((s, r) => s + r[j], 0)) / (12 * 2));
    expectTensorsClose(whole.grads.b, db, { atol: 1e-5 });
    tf.dispose([
      x,
      y,
      ...xs,
      ...ys,
      whole.loss,
      micro.loss,
      ...Object.values(whole.grads),
      ...Object.values(micro.grads),
    ]);
    model.dispose();
  });

  it('says so when the loss is not a scalar', () => {
    const model = new Linear(new Rng(3));
    const x = tf.ones([2, 3]);
    expect(() =>
      accumulateGradients(model.namedParameters(), 1, () => tf.matMul(x, model.w)),
    ).toThrow(/must be a scalar, but it returned shape \[2,2\]/);
    x.dispose();
    model.dispose();
  });
});
