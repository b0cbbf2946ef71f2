/** Parity with tools/parity/kv-tova.py (our PyTorch port of TOVA decoding, float64). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, Rng, tf, useBackend, type KVCache, type SequenceMixer, type StepContext } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { standard } from '@weft/nn';
import tova from '../src/index.js';

interface Fixture {
  B: number; P: number; L: number; D: number; H: number; budget: number;
  x: number[]; y: number[]; keptPositions: number[];
  weights: Record<'wq' | 'wk' | 'wv' | 'wo', number[]>;
}

beforeAll(() => useBackend('cpu'));

it('an attention layer with a TOVA cache decodes (prompt chunk, then token by token) like the PyTorch port', () => {
  const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'tova.json'), 'utf8')) as Fixture;
  const { B, P, L, D, H, budget } = fx;
  const mixer = createRegistry()
    .use(standard, tova)
    .create('mixer', { kind: 'attention', kvCache: { kind: 'tova', budget } }, { dims: { dModel: D, heads: H, headDim: D / H }, rng: new Rng(0) }) as SequenceMixer;
  const state = Object.fromEntries(Object.entries(fx.weights).map(([n, w]) => [`heads.${n}.weight`, tf.transpose(tf.tensor2d(w, [D, D]))])); // torch [out, in] -> [in, out]
  mixer.loadStateDict(state);
  const x = tf.tensor3d(fx.x, [B, L, D]);
  let cache = mixer.initState!(B);
  const outs: tf.Tensor[] = [];
  for (const [start, end] of [[0, P], ...Array.from({ length: L - P }, (_, i) => [P + i, P + i + 1])]) {
    const positions = tf.tidy(() => tf.tile(tf.range(start, end, 1, 'int32').expandDims(0), [B, 1]));
    const ctx: StepContext = { training: false, rng: new Rng(0), layerIndex: 0, positions, scratch: new Map() };
    const xt = tf.slice(x, [0, start, 0], [B, end - start, D]);
    const [y, next] = mixer.step!(xt, cache, ctx);
    cache = next;
    outs.push(y);
    tf.dispose([xt, positions]);
  }
  const y = tf.concat(outs, 1);
  expectTensorsClose(y, fx.y, { atol: 1e-5, rtol: 1e-4 });
  expect(Array.from((cache as KVCache).positions().dataSync())).toEqual(fx.keptPositions);
  tf.dispose([x, y, ...outs, ...Object.values(state)]);
  cache.dispose();
  mixer.dispose();
});
