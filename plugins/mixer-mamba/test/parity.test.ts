/** Parity with tools/parity/mixer-mamba.py (our PyTorch port of the reference math, float64 loops). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import mamba, { selectiveScan, type Mamba } from '../src/index.js';

const scanFx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'scan.json'), 'utf8'));
const blockFx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'block.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('selective scan matches the reference selective_scan math (batch 2, dim 4, dstate 8)', () => {
  const { b, d, n, l } = scanFx;
  // The reference layout is (b, d, l) / (b, n, l); Weft scans [B, L, E] / [B, L, N].
  const bdl = (v: number[], c: number) => tf.transpose(tf.tensor(v, [b, c, l]), [0, 2, 1]);
  const ins = [bdl(scanFx.u, d), bdl(scanFx.delta, d), tf.tensor(scanFx.A, [d, n]), bdl(scanFx.B, n), bdl(scanFx.C, n), tf.tensor(scanFx.D), bdl(scanFx.z, d), tf.tensor(scanFx.delta_bias)];
  const [u, delta, A, B, C, D, z, deltaBias] = ins;
  const { y, last } = selectiveScan({ u, delta, A, B, C, D, z, deltaBias, deltaSoftplus: true });
  expectTensorsClose(tf.transpose(y, [0, 2, 1]), scanFx.y, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(last, scanFx.last_state, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([...ins, y, last]);
});

it('a whole Mamba block loaded with PyTorch weights gives the PyTorch outputs', () => {
  const fx = blockFx;
  const E = fx.expand * fx.d_model;
  const m = createRegistry().use(mamba).create('mixer', { kind: 'mamba', d_state: fx.d_state, d_conv: fx.d_conv, expand: fx.expand }, { dims: { dModel: fx.d_model } as never, rng: new Rng(0) }) as Mamba;
  const T = (v: number[], rows: number, cols: number) => tf.transpose(tf.tensor(v, [rows, cols])); // torch [out, in] -> [in, out]
  const state: Record<string, tf.Tensor> = {
    'in_proj.weight': T(fx['in_proj.weight'], 2 * E, fx.d_model),
    conv1d_weight: T(fx['conv1d.weight'], E, fx.d_conv), // [E, 1, K] -> [K, E]
    conv1d_bias: tf.tensor(fx['conv1d.bias']),
    'x_proj.weight': T(fx['x_proj.weight'], fx.dt_rank + 2 * fx.d_state, E),
    'dt_proj.weight': T(fx['dt_proj.weight'], E, fx.dt_rank),
    'dt_proj.bias': tf.tensor(fx['dt_proj.bias']),
    A_log: tf.tensor(fx.A_log, [E, fx.d_state]),
    D: tf.tensor(fx.D),
    'out_proj.weight': T(fx['out_proj.weight'], fx.d_model, E),
  };
  m.loadStateDict(state);
  const x = tf.tensor(fx.x, [fx.B, fx.L, fx.d_model]);
  const ctx = makeForwardContext(fx.B, fx.L);
  const y = m.forward(x, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([x, y, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
