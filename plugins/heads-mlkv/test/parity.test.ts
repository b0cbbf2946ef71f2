/** Parity with tools/parity/heads-mlkv.py (a PyTorch port of MLKV attention, Hkv = 2 of H = 4). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { standard } from '@weft/nn';
import mlkv, { type MlkvHeads } from '../src/index.js';

interface Fixture {
  B: number; L: number; D: number; H: number; kvHeads: number; x0: number[]; x1: number[];
  layer0: Record<string, number[]>; layer1: Record<string, number[]>; y0: number[]; y1: number[];
}
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'mlkv.json'), 'utf8')) as Fixture;

beforeAll(() => useBackend('cpu'));

it('one group of two layers matches the PyTorch port', () => {
  const { B, L, D, H, kvHeads } = fx;
  const Dh = D / H;
  const reg = createRegistry().use(standard, mlkv);
  const model = reg.createScope();
  const make = (layerIndex: number) =>
    reg.create('mixer', { kind: 'attention', headLayout: { kind: 'mlkv', groups: 2, kvHeads } }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: Dh, layers: 2 }, rng: new Rng(1) }) as SequenceMixer & { heads: MlkvHeads };
  const mixers = [make(0), make(1)];
  mixers.forEach((m, i) => {
    const w = i === 0 ? fx.layer0 : fx.layer1;
    for (const [name, values] of Object.entries(w)) (m.heads[name as 'wq'] as MlkvHeads['wq']).weight.assign(tf.tensor2d(values, [D, values.length / D]));
  });
  const ctx = makeForwardContext(B, L);
  const x0 = tf.tensor3d(fx.x0, [B, L, D]);
  const x1 = tf.tensor3d(fx.x1, [B, L, D]);
  const y0 = mixers[0].forward(x0, { ...ctx, layerIndex: 0 });
  const y1 = mixers[1].forward(x1, { ...ctx, layerIndex: 1 });
  expectTensorsClose(y0, fx.y0, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(y1, fx.y1, { atol: 1e-5, rtol: 1e-5 });
  expect(ctx.scratch.size).toBe(0);
  tf.dispose([x0, x1, y0, y1, ctx.positions]);
  mixers.forEach((m) => m.dispose());
});
