/** Parity with tools/parity/mixer-rwkv.py (our PyTorch float64 port of RWKV-4's kernel_forward and blocks). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import rwkv, { wkv, type RwkvMixer } from '../src/index.js';

const load = (name: string) => JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));

beforeAll(() => useBackend('cpu'));

it('wkv matches the PyTorch kernel_forward port (keys up to +60)', () => {
  const fx = load('wkv.json');
  const w = tf.neg(tf.exp(tf.tensor(fx.time_decay)));
  const u = tf.tensor(fx.time_first);
  const k = tf.tensor(fx.k, [fx.B, fx.T, fx.C]);
  const v = tf.tensor(fx.v, [fx.B, fx.T, fx.C]);
  const y = wkv(w, u, k, v);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([w, u, k, v, y]);
});

it('the rwkv mixer matches the PyTorch port (time-mix + channel-mix), parallel and step', () => {
  const fx = load('mixer.json');
  const m = createRegistry().use(rwkv).create('mixer', { kind: 'rwkv', ffnMult: fx.F / fx.D }, { dims: { dModel: fx.D }, rng: new Rng(0) }) as RwkvMixer;
  const state: Record<string, tf.Tensor> = {};
  for (const [name, { shape, values }] of Object.entries(fx.params as Record<string, { shape: number[]; values: number[] }>)) {
    // nn.Linear weight [out, in] -> Weft [in, out]
    state[name] = name.endsWith('.weight') && shape.length === 2 ? tf.transpose(tf.tensor(values, shape)) : tf.tensor(values, shape);
  }
  m.loadStateDict(state);
  const x = tf.tensor(fx.x, [fx.B, fx.T, fx.D]);
  const ctx = makeForwardContext(fx.B, fx.T);
  const y = m.forward(x, ctx);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-5 });
  const [ys, st] = m.step(x, m.initState(fx.B), { training: false, rng: new Rng(0), layerIndex: 0, positions: ctx.positions, scratch: new Map() });
  expectTensorsClose(ys, fx.y, { atol: 1e-5, rtol: 1e-5 });
  st.dispose();
  tf.dispose([x, y, ys, ctx.positions, ...Object.values(state)]);
  m.dispose();
});
