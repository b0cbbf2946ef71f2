/** Parity with tools/parity/mixer-longhorn.py (our PyTorch port of the reference math, float64 loops). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import longhorn, { longhornRecurrent, longhornScan, type LonghornMixer } from '../src/index.js';

const scanFx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'scan.json'), 'utf8'));
const blockFx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'block.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('the recurrence matches the PyTorch port (batch 2, dim 4, dstate 8, L 13, from h0): parallel scan and step', () => {
  const { b, d, n, l } = scanFx;
  // The reference layout is (b, d, l) / (b, n, l); Weft scans [B, L, E] / [B, L, N].
  const bdl = (v: number[], c: number) => tf.transpose(tf.tensor(v, [b, c, l]), [0, 2, 1]);
  const ins = { x: bdl(scanFx.x, d), beta: bdl(scanFx.beta, d), k: bdl(scanFx.k, n), q: bdl(scanFx.q, n), D: tf.tensor(scanFx.D), z: bdl(scanFx.z, d) };
  const h0 = tf.tensor(scanFx.h0, [b, d, n]);
  const par = longhornScan({ ...ins, h0 });
  const seq = longhornRecurrent({ ...ins, S0: h0 });
  for (const { y, last } of [par, seq]) {
    expectTensorsClose(tf.transpose(y, [0, 2, 1]), scanFx.y, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(last, scanFx.last_state, { atol: 1e-5, rtol: 1e-5 });
  }
  tf.dispose([...Object.values(ins), h0, par.y, par.last, seq.y, seq.last]);
});

it('a whole Longhorn block loaded with PyTorch weights gives the PyTorch outputs (forward and step)', () => {
  const fx = blockFx;
  const E = fx.expand * fx.d_model;
  const m = createRegistry().use(longhorn).create('mixer', { kind: 'longhorn', d_state: fx.d_state, d_conv: fx.d_conv, expand: fx.expand }, { dims: { dModel: fx.d_model } as never, rng: new Rng(0) }) as LonghornMixer;
  const T = (v: number[], rows: number, cols: number) => tf.transpose(tf.tensor(v, [rows, cols])); // torch [out, in] -> [in, out]
  const state: Record<string, tf.Tensor> = {
    'in_proj.weight': T(fx['in_proj.weight'], 2 * E, fx.d_model),
    conv1d_weight: T(fx['conv1d.weight'], E, fx.d_conv), // [E, 1, K] -> [K, E]
    conv1d_bias: tf.tensor(fx['conv1d.bias']),
    'x_proj.weight': T(fx['x_proj.weight'], fx.dt_rank + 2 * fx.d_state, E),
    'dt_head.weight': T(fx['dt_head.weight'], E, fx.dt_rank),
    'dt_head.bias': tf.tensor(fx['dt_head.bias']),
    D: tf.tensor(fx.D),
    'out_proj.weight': T(fx['out_proj.weight'], fx.d_model, E),
  };
  m.loadStateDict(state);
  const x = tf.tensor(fx.x, [fx.B, fx.L, fx.d_model]);
  const ctx = makeForwardContext(fx.B, fx.L);
  const y = m.forward(x, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  const [ys, st] = m.step(x, m.initState(fx.B), { training: false, rng: new Rng(0), layerIndex: 0, positions: ctx.positions, scratch: new Map() });
  expectTensorsClose(ys, fx.y, { atol: 1e-5, rtol: 1e-5 });
  st.dispose();
  tf.dispose([x, y, ys, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
