/** Parity with tools/parity/heads-cla.py (our PyTorch port of one CLA2 group with kvHeads 2, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { standard } from '@weft/nn';
import cla from '../src/index.js';

type Weights = Record<string, { weight: number[]; shape: [number, number] }>;
interface Fixture {
  B: number; L: number; D: number; H: number; kvHeads: number;
  x0: number[]; x1: number[]; y0: number[]; y1: number[];
  layer0: Weights; layer1: Weights;
}

beforeAll(() => useBackend('cpu'));

it('a producer and a consumer layer match the PyTorch port', () => {
  const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'cla2.json'), 'utf8')) as Fixture;
  const { B, L, D, H } = fx;
  const reg = createRegistry().use(standard, cla);
  const model = reg.createScope();
  const mixers = [fx.layer0, fx.layer1].map((weights, layerIndex) => {
    const m = reg.create('mixer', { kind: 'attention', headLayout: { kind: 'cla', sharing: 2, kvHeads: fx.kvHeads } }, { container: model.createChildContainer(), layerIndex, dims: { dModel: D, heads: H, headDim: D / H, layers: 2 }, rng: new Rng(0) }) as SequenceMixer;
    const state = Object.fromEntries(Object.entries(weights).map(([n, w]) => [`heads.${n}.weight`, tf.transpose(tf.tensor2d(w.weight, w.shape))])); // [out, in] -> [in, out]
    m.loadStateDict(state);
    tf.dispose(Object.values(state));
    return m;
  });
  const [x0, x1] = [tf.tensor3d(fx.x0, [B, L, D]), tf.tensor3d(fx.x1, [B, L, D])];
  const ctx = makeForwardContext(B, L);
  const y0 = mixers[0].forward(x0, { ...ctx, layerIndex: 0 });
  const y1 = mixers[1].forward(x1, { ...ctx, layerIndex: 1 });
  expectTensorsClose(y0, fx.y0, { atol: 1e-5, rtol: 1e-4 });
  expectTensorsClose(y1, fx.y1, { atol: 1e-5, rtol: 1e-4 });
  tf.dispose([x0, x1, y0, y1, ctx.positions]);
  mixers.forEach((m) => m.dispose());
});
