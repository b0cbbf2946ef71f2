/** Parity with tools/parity/mixer-h3.py (our PyTorch port of H3 with complex tensors and FFT convolutions, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import h3, { type H3 } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'h3.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('an H3 layer loaded with the PyTorch weights gives the PyTorch outputs', () => {
  const { B, H, N, L } = fx;
  const m = createRegistry().use(h3).create('mixer', { kind: 'h3', d_state: N }, { dims: { dModel: H } as never, rng: new Rng(0) }) as H3;
  const T = (name: string) => tf.transpose(tf.tensor(fx[name], [H, H])); // torch [out, in] -> [in, out]
  const state: Record<string, tf.Tensor> = {
    'q_proj.weight': T('q_proj.weight'), 'q_proj.bias': tf.tensor(fx['q_proj.bias']),
    'k_proj.weight': T('k_proj.weight'), 'k_proj.bias': tf.tensor(fx['k_proj.bias']),
    'v_proj.weight': T('v_proj.weight'), 'v_proj.bias': tf.tensor(fx['v_proj.bias']),
    'output_linear.weight': T('output_linear.weight'), 'output_linear.bias': tf.tensor(fx['output_linear.bias']),
    shift_C: tf.tensor(fx.shift_C, [H, N]), shift_D: tf.tensor(fx.shift_D),
    'ssm.log_dt': tf.tensor(fx.log_dt), 'ssm.C': tf.tensor(fx.C, [H, N / 2, 2]), 'ssm.log_A_real': tf.tensor(fx.log_A_real, [H, N / 2]),
    'ssm.A_imag': tf.tensor(fx.A_imag, [H, N / 2]), 'ssm.D': tf.tensor(fx.D),
  };
  m.loadStateDict(state);
  const u = tf.tensor(fx.u, [B, L, H]);
  const ctx = makeForwardContext(B, L);
  const y = m.forward(u, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([u, y, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
