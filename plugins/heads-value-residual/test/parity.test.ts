/** Parity with tools/parity/heads-value-residual.py (a PyTorch port of ResFormer / SVFormer attention). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { standard } from '@weft/nn';
import valueResidual, { type ValueResidualHeads } from '../src/index.js';

interface Fixture {
  B: number; L: number; D: number; H: number; lambda1: number; lambda2: number;
  x0: number[]; x1: number[];
  layer0: Record<'wq' | 'wk' | 'wv' | 'wo', number[]>;
  layer1: Record<'wq' | 'wk' | 'wv' | 'wo', number[]>;
  y0: number[]; y1_resformer: number[]; y1_svformer: number[];
}
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'resformer.json'), 'utf8')) as Fixture;

beforeAll(() => useBackend('cpu'));

it.each([
  ['resformer', { kind: 'resformer', lambda1: fx.lambda1, lambda2: fx.lambda2 }, fx.y1_resformer],
  ['svformer', { kind: 'svformer' }, fx.y1_svformer],
])('%s matches the PyTorch port on two layers', (_n, headLayout, expected) => {
  const { B, L, D, H } = fx;
  const reg = createRegistry().use(standard, valueResidual);
  const model = reg.createScope();
  const make = (layerIndex: number) =>
    reg.create('mixer', { kind: 'attention', headLayout }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: D / H, layers: 2 }, rng: new Rng(1) }) as SequenceMixer & { heads: ValueResidualHeads };
  const mixers = [make(0), make(1)];
  mixers.forEach((m, i) => {
    const w = i === 0 ? fx.layer0 : fx.layer1;
    for (const name of ['wq', 'wk', 'wv', 'wo'] as const) m.heads[name]?.weight.assign(tf.tensor2d(w[name], [D, D]));
  });
  const ctx = makeForwardContext(B, L);
  const x0 = tf.tensor3d(fx.x0, [B, L, D]);
  const x1 = tf.tensor3d(fx.x1, [B, L, D]);
  const y0 = mixers[0].forward(x0, { ...ctx, layerIndex: 0 });
  const y1 = mixers[1].forward(x1, { ...ctx, layerIndex: 1 });
  expectTensorsClose(y0, fx.y0, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(y1, expected, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([x0, x1, y0, y1, ctx.positions]);
  mixers.forEach((m) => m.dispose());
});
