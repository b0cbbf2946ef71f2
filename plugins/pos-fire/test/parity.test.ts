import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { FireBias } from '@weft/pos-fire';

// Produced by tools/parity/pos-fire.py (PyTorch port of the paper's final bias (§3), float32, with autograd gradients).
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'fire.json'), 'utf8'));

describeWithBackends('FIRE parity with the PyTorch port', () => {
  for (const c of fx.cases) {
    it(`${c.name}: MLP input, bias and gradients of sum(G * bias) match`, () => {
      const enc = new FireBias({ heads: c.heads, mlpWidth: c.mlpWidth, initC: 0.1, initL: c.initL, eps: c.eps }, new Rng(0));
      const state = {
        c: tf.scalar(c.c), L_multiplier: tf.scalar(c.L_multiplier),
        'mlp.0.weight': tf.tensor2d(c.w1, [1, c.mlpWidth]), 'mlp.0.bias': tf.tensor1d(c.b1),
        'mlp.2.weight': tf.tensor2d(c.w2, [c.mlpWidth, c.heads]), 'mlp.2.bias': tf.tensor1d(c.b2),
      };
      enc.loadStateDict(state);
      const q = tf.tensor2d(c.qPos, undefined, 'int32');
      const k = tf.tensor2d(c.kPos, undefined, 'int32');
      const x = enc.normalizedDistance(q, k);
      expectTensorsClose(x, c.x, { atol: 1e-6, rtol: 1e-5 });
      const bias = enc.bias(q, k);
      expect(bias.shape).toEqual(c.shape);
      expectTensorsClose(bias, c.bias, { atol: 1e-5, rtol: 1e-5 });
      const G = tf.tensor(c.G, c.shape);
      const vars = [enc.c, enc.multiplier, enc.w1, enc.b1, enc.w2, enc.b2];
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(G, enc.bias(q, k))) as tf.Scalar, vars);
      const expected = [[c.grad.c], [c.grad.L_multiplier], c.grad.w1, c.grad.b1, c.grad.w2, c.grad.b2];
      vars.forEach((v, n) => expectTensorsClose(grads[v.name], expected[n], { atol: 1e-4, rtol: 1e-4 }));
      tf.dispose([...Object.values(state), q, k, x, bias, G, ...Object.values(grads)]);
      enc.dispose();
    });
  }
});
