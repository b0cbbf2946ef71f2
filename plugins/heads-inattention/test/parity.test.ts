/** Parity with tools/parity/heads-inattention.py (a PyTorch port of InAttention on two layers). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { standard } from '@weft/nn';
import inattention, { type InAttentionHeads } from '../src/index.js';

interface Fixture {
  B: number; L: number; D: number; H: number; x0: number[]; x1: number[];
  layers: Array<Record<'wq' | 'wk' | 'wv' | 'wo', number[]>>; y0: number[]; y1: number[];
}
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'inattention.json'), 'utf8')) as Fixture;

beforeAll(() => useBackend('cpu'));

it('two InAttention layers match the PyTorch port', () => {
  const { B, L, D, H } = fx;
  const reg = createRegistry().use(standard, inattention);
  const model = reg.createScope();
  const make = (layerIndex: number) =>
    reg.create('mixer', { kind: 'attention', headLayout: { kind: 'inattention' } }, { container: model.createChildContainer(), modelContainer: model, layerIndex, dims: { dModel: D, heads: H, headDim: D / H, layers: 2 }, rng: new Rng(1) }) as SequenceMixer & { heads: InAttentionHeads };
  const mixers = [make(0), make(1)];
  mixers.forEach((m, i) => {
    for (const name of ['wq', 'wk', 'wv', 'wo'] as const) m.heads[name].weight.assign(tf.tensor2d(fx.layers[i][name], [D, D]));
  });
  const ctx = makeForwardContext(B, L);
  const x0 = tf.tensor3d(fx.x0, [B, L, D]);
  const x1 = tf.tensor3d(fx.x1, [B, L, D]);
  const y0 = mixers[0].forward(x0, { ...ctx, layerIndex: 0 });
  const y1 = mixers[1].forward(x1, { ...ctx, layerIndex: 1 });
  expectTensorsClose(y0, fx.y0, { atol: 1e-5, rtol: 1e-5 });
  expectTensorsClose(y1, fx.y1, { atol: 1e-5, rtol: 1e-5 });
  tf.dispose([x0, x1, y0, y1, ctx.positions]);
  mixers.forEach((m) => m.dispose());
});
