/**
 * Parity with tools/parity/moe-switchhead.py, a PyTorch port of SwitchHead attention with
 * the authors' parameter layout ([H·E, D, Dh] value experts, [H·E, Dh, D] output experts,
 * [H·E, D] selection weights, nn.Linear q/k), mapped here into Weft's [in, out] layout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { DenseAttention } from '@weft/nn';
import switchhead, { SwitchHeadLayout } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'switchhead.json'), 'utf8'));
const { B, L, D, heads: H, headDim: Dh, experts: E, topK } = fx;

describeWithBackends('moe-switchhead parity with the PyTorch port', () => {
  it("loads the authors' layout and reproduces the causal layer output", () => {
    const m = createRegistry().use(switchhead).create('heads', { kind: 'switchhead', experts: E, topK }, { dims: { dModel: D, heads: H, headDim: Dh, layers: 1 }, rng: new Rng(0) }) as SwitchHeadLayout;
    tf.tidy(() => {
      m.wq.assign(tf.transpose(tf.tensor(fx.wq, [H * Dh, D])));
      m.wk.assign(tf.transpose(tf.tensor(fx.wk, [H * Dh, D])));
      m.wv.assign(tf.reshape(tf.transpose(tf.tensor(fx.wv, [H * E, D, Dh]), [1, 0, 2]), [D, H * E * Dh])); // column (h, e, d)
      m.wo.assign(tf.reshape(tf.tensor(fx.wo, [H * E, Dh, D]), [H * E * Dh, D])); // row (h, e, d)
      m.selV.assign(tf.transpose(tf.tensor(fx.sel_v, [H * E, D])));
      m.selO.assign(tf.transpose(tf.tensor(fx.sel_o, [H * E, D])));
    });
    const x = tf.tensor(fx.x, [B, L, D]);
    const ctx = makeForwardContext(B, L);
    const y = tf.tidy(() => {
      const { q, k, v } = m.project(x, ctx);
      const o = new DenseAttention().attend(q, k, v, { causal: true, scale: 1 / Math.sqrt(Dh), queryOffset: 0, training: false, rng: new Rng(0), layerIndex: 0 });
      return m.output(o, ctx);
    });
    expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, ctx.positions]);
    m.dispose();
  });
});
