/** Parity with tools/parity/mixer-mingru.py (our PyTorch port, sequential form, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import minrnn, { type MinGRU } from '../src/index.js';

interface Fixture {
  B: number; L: number; D: number; expansion: number; hidden: number;
  x: number[]; y: number[];
  weights: Record<string, { weight: number[]; bias: number[]; shape: [number, number] }>;
  out: { weight: number[]; shape: [number, number] };
}

/** torch nn.Linear weight [out, in] -> Weft [in, out]. */
const transposed = (w: number[], [rows, cols]: [number, number]) => tf.transpose(tf.tensor(w, [rows, cols]));

const mingruFixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'mingru.json'), 'utf8'));
const minlstmFixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'minlstm.json'), 'utf8'));

beforeAll(() => useBackend('cpu'));

it.each([
  ['mingru', mingruFixture as unknown as Fixture],
  ['minlstm', minlstmFixture as unknown as Fixture],
])('%s matches the PyTorch port', (kind, fx) => {
  const m = createRegistry().use(minrnn).create('mixer', { kind, expansion: fx.expansion }, { dims: { dModel: fx.D } as never, rng: new Rng(0) }) as MinGRU;
  const state: Record<string, tf.Tensor> = { 'out.weight': transposed(fx.out.weight, fx.out.shape) };
  for (const [name, w] of Object.entries(fx.weights)) {
    state[`${name}.weight`] = transposed(w.weight, w.shape);
    state[`${name}.bias`] = tf.tensor(w.bias);
  }
  m.loadStateDict(state);
  const x = tf.tensor(fx.x, [fx.B, fx.L, fx.D]);
  const ctx = makeForwardContext(fx.B, fx.L);
  const y = m.forward(x, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([x, y, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
