/** Gradients of the rotation (plain tfjs ops) agree with finite differences. */
import { Rng, tf } from '@weft/core';
import { describeWithBackends, gradCheck } from '@weft/core/testing';
import { RotaryEncoding, inverseFrequencies } from '../src/index.js';

describeWithBackends('pos-rope gradients', () => {
  for (const layout of ['interleaved', 'half-split'] as const) {
    it(`${layout}: d(score)/dq and d(score)/dk match central differences`, () => {
      const rng = new Rng(5);
      const enc = new RotaryEncoding({ headDim: 8, rotaryDim: 6, layout, invFreq: inverseFrequencies(6, 100) });
      const q = rng.normalTensor([1, 2, 3, 8]);
      const k = rng.normalTensor([1, 2, 4, 8]);
      const w = rng.normalTensor([1, 2, 3, 4]);
      const qp = tf.tensor2d([[4, 5, 6]], [1, 3], 'int32');
      const kp = tf.tensor2d([[1, 3, 5, 6]], [1, 4], 'int32');
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.tidy(() => {
          const [qr, kr] = enc.rotate(a, b, qp, kp);
          return tf.sum(tf.mul(tf.matMul(qr, kr, false, true), w)) as tf.Scalar; // weighted sum of scores
        });
      const { maxAbsError } = gradCheck(f, [q, k], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
      expect(maxAbsError).toBeLessThan(2e-2);
      tf.dispose([q, k, w, qp, kp]);
    });
  }
}, ['cpu']);
