/** Parity with tools/parity/mixer-s4.py (our PyTorch port with complex tensors and the FFT convolution, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import s4, { type S4Mixer } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 's4d.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('an S4D block loaded with the PyTorch weights gives the PyTorch kernel and outputs', () => {
  const { B, H, N, L } = fx;
  const m = createRegistry().use(s4).create('mixer', { kind: 's4', d_state: N }, { dims: { dModel: H } as never, rng: new Rng(0) }) as S4Mixer;
  const state: Record<string, tf.Tensor> = {
    'kernel.log_dt': tf.tensor(fx.log_dt, [H]),
    'kernel.C': tf.tensor(fx.C, [H, N / 2, 2]),
    'kernel.log_A_real': tf.tensor(fx.log_A_real, [H, N / 2]),
    'kernel.A_imag': tf.tensor(fx.A_imag, [H, N / 2]),
    'kernel.D': tf.tensor(fx.D, [H]),
    'output_linear.weight': tf.transpose(tf.tensor(fx['output_linear.weight'], [2 * H, H])), // Conv1d [2H, H, 1] -> [H, 2H]
    'output_linear.bias': tf.tensor(fx['output_linear.bias'], [2 * H]),
  };
  m.loadStateDict(state);
  const K = m.kernel.kernel(L);
  expectTensorsClose(K, fx.K, { atol: 1e-5, rtol: 1e-5 });
  const u = tf.transpose(tf.tensor(fx.u, [B, H, L]), [0, 2, 1]); // (B, H, L) -> [B, L, H]
  const ctx = makeForwardContext(B, L);
  const y = m.forward(u, ctx);
  expectTensorsClose(tf.transpose(y, [0, 2, 1]), fx.y, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([K, u, y, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
