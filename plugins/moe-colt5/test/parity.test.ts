/**
 * Parity with tools/parity/moe-colt5.py, a PyTorch port of CoLT5's conditional feed-forward
 * with CoDA's coordinate-descent soft top-k. The fixture holds PyTorch-layout weights
 * ([out, in]), transposed here into Weft's [in, out].
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import type { MLP } from '@weft/nn';
import colt5, { Colt5FeedForward } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'colt5.json'), 'utf8'));
const { B, L, D } = fx;

function load(mlp: MLP, [w1, b1, w2, b2]: number[][], hidden: number): void {
  tf.tidy(() => {
    mlp.up.weight.assign(tf.transpose(tf.tensor(w1, [hidden, D])));
    mlp.up.bias!.assign(tf.tensor(b1));
    mlp.down.weight.assign(tf.transpose(tf.tensor(w2, [D, hidden])));
    mlp.down.bias!.assign(tf.tensor(b2));
  });
}

describeWithBackends('moe-colt5 parity with the PyTorch port', () => {
  it('reproduces the soft top-k weights and the layer output', () => {
    const m = createRegistry()
      .use(colt5)
      .create('feedforward', { kind: 'colt5', k: fx.k, lightMult: fx.lightHidden / D, heavyMult: fx.heavyHidden / D, epsilon: fx.epsilon, iterations: fx.iterations }, { dims: { dModel: D, layers: 1 }, rng: new Rng(0) }) as Colt5FeedForward;
    load(m.light, fx.light, fx.lightHidden);
    load(m.heavy, fx.heavy, fx.heavyHidden);
    tf.tidy(() => m.router.assign(tf.tensor(fx.w, [D, 1])));
    const x = tf.tensor(fx.x, [B, L, D]);
    const { scores, weights } = m.route(x);
    expectTensorsClose(weights, fx.lambda, { atol: 1e-5, rtol: 1e-4 });
    const y = m.forward(x, makeForwardContext(B, L));
    expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, scores, weights]);
    m.dispose();
  });
});
