/** Parity with tools/parity/heads-mqa.py (our PyTorch port, float64, HF repeat_kv grouping). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { standard } from '@weft/nn';
import mqa from '../src/index.js';

interface Fixture {
  B: number; L: number; D: number; H: number; Dh: number; kvHeads: number;
  x: number[]; y: number[];
  weights: Record<'wq' | 'wk' | 'wv' | 'wo', { weight: number[]; shape: [number, number] }>;
}

const load = (name: string): Fixture => JSON.parse(readFileSync(join(__dirname, 'fixtures', `${name}.json`), 'utf8')) as Fixture;

beforeAll(() => useBackend('cpu'));

it.each([
  ['mqa', { kind: 'mqa' }, 1],
  ['gqa', { kind: 'gqa', kvHeads: 2 }, 2],
])('%s attention sublayer matches the PyTorch port', (name, headLayout, kvHeads) => {
  const fx = load(name);
  expect(fx.kvHeads).toBe(kvHeads);
  const mixer = createRegistry()
    .use(standard, mqa)
    .create('mixer', { kind: 'attention', headLayout }, { dims: { dModel: fx.D, heads: fx.H, headDim: fx.Dh }, rng: new Rng(0) }) as SequenceMixer;
  // torch nn.Linear weight [out, in] -> Weft [in, out].
  const state = Object.fromEntries(
    Object.entries(fx.weights).map(([name, w]) => [`heads.${name}.weight`, tf.transpose(tf.tensor(w.weight, w.shape))]),
  );
  mixer.loadStateDict(state);
  const x = tf.tensor(fx.x, [fx.B, fx.L, fx.D]);
  const ctx = makeForwardContext(fx.B, fx.L);
  const y = mixer.forward(x, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-4 });
  tf.dispose([x, y, ctx.positions, ...Object.values(state)]);
  mixer.dispose();
});
