/** Parity with tools/parity/mixer-hyena.py (our PyTorch port of the Hyena operator, order 2, FFT convolutions, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import hyena, { positionalFeatures, type Hyena } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'hyena.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('positional features, implicit filters and the operator output match PyTorch', () => {
  const { B, d, L } = fx;
  const inner = d * (fx.order + 1);
  const m = createRegistry().use(hyena).create('mixer', { kind: 'hyena', l_max: fx.l_max, order: fx.order, filter_order: fx.filter_order, emb_dim: fx.emb_dim, num_inner_mlps: fx.num_inner_mlps }, { dims: { dModel: d } as never, rng: new Rng(0) }) as Hyena;
  const T = (v: number[], out: number, inp: number) => tf.transpose(tf.tensor(v, [out, inp])); // torch [out, in] -> [in, out]
  const state: Record<string, tf.Tensor> = {
    'in_proj.weight': T(fx['in_proj.weight'], inner, d), 'in_proj.bias': tf.tensor(fx['in_proj.bias']),
    'out_proj.weight': T(fx['out_proj.weight'], d, d), 'out_proj.bias': tf.tensor(fx['out_proj.bias']),
    short_filter_weight: T(fx['short_filter.weight'], inner, 3), // [C, 1, 3] -> [3, C]
    short_filter_bias: tf.tensor(fx['short_filter.bias']),
    'filter_fn.freq': tf.tensor(fx.freq), 'filter_fn.bias': tf.tensor(fx.bias),
  };
  fx.mlp.forEach((l: { weight: number[]; bias: number[] | null }, i: number) => {
    const inp = i === 0 ? fx.emb_dim : fx.filter_order;
    const out = l.weight.length / inp;
    state[`filter_fn.implicit_filter_${i}.weight`] = T(l.weight, out, inp);
    if (l.bias) state[`filter_fn.implicit_filter_${i}.bias`] = tf.tensor(l.bias);
  });
  m.loadStateDict(state);
  expectTensorsClose(positionalFeatures(L, fx.l_max, fx.emb_dim).z, fx.z, { atol: 1e-6 });
  const h = m.filter_fn.filter(L);
  expectTensorsClose(h, fx.h, { atol: 1e-5, rtol: 1e-5 });
  const u = tf.tensor(fx.u, [B, L, d]);
  const ctx = makeForwardContext(B, L);
  const y = m.forward(u, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-4 });
  tf.dispose([h, u, y, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
