/** Gradients through the xPos rotation and decay ζ^(±n̂/γ) agree with finite differences. */
import { Rng, tf } from '@weft/core';
import { describeWithBackends, gradCheck } from '@weft/core/testing';
import { XPosEncoding } from '../src/index.js';

describeWithBackends('pos-xpos gradients', () => {
  for (const layout of ['interleaved', 'half-split'] as const) {
    it(`${layout}: d(loss)/dq and d(loss)/dk match central differences (strong decay, γ = 4)`, () => {
      const rng = new Rng(11);
      // γ = 4 and positions far from the centre make ζ^(±n̂/γ) range over ~[0.2, 6], so the
      // decay factors are really exercised by the gradient (not ≈ 1).
      const enc = new XPosEncoding({ headDim: 8, base: 100, scaleBase: 4, gamma: 0.4, centre: 3, layout });
      const q = rng.normalTensor([1, 2, 3, 8]);
      const k = rng.normalTensor([1, 1, 4, 8]);
      const w = rng.normalTensor([1, 2, 3, 4]);
      const u = rng.normalTensor([1, 2, 3, 8]);
      const qp = tf.tensor2d([[5, 6, 9]], [1, 3], 'int32');
      const kp = tf.tensor2d([[0, 2, 5, 8]], [1, 4], 'int32');
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.tidy(() => {
          const [qr, kr] = enc.rotate(a, b, qp, kp);
          const scores = tf.matMul(qr, tf.tile(kr, [1, 2, 1, 1]), false, true); // [1, 2, 3, 4]
          // weighted scores plus a term on the rotated queries alone (checks f_q by itself)
          return tf.add(tf.sum(tf.mul(scores, w)), tf.sum(tf.mul(qr, u))) as tf.Scalar;
        });
      const { maxAbsError } = gradCheck(f, [q, k], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
      expect(maxAbsError).toBeLessThan(2e-2);
      tf.dispose([q, k, w, u, qp, kp]);
    });
  }
}, ['cpu']);
