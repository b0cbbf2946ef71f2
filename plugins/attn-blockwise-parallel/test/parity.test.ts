import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { BlockwiseParallelMixer, VERSION } from '@weft/attn-blockwise-parallel';

interface Fixture {
  B: number; L: number; D: number; H: number;
  queryChunkSize: number; keyChunkSize: number;
  x: number[];
  weights: Record<string, { shape: number[]; data: number[] }>;
  causal: number[]; bidirectional: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'bpt.json'), 'utf8'));

describeWithBackends('blockwise-parallel: parity with the PyTorch port of Algorithm 1 (tools/parity/attn-blockwise-parallel.py)', () => {
  it('causal and bidirectional outputs match with the fixture’s weights', () => {
    const { B, L, D, H } = fixture;
    const mixer = new BlockwiseParallelMixer({ queryChunkSize: fixture.queryChunkSize, keyChunkSize: fixture.keyChunkSize, mult: 4, activation: 'gelu' }, { dModel: D, heads: H, headDim: D / H, layers: 1 }, new Rng(0));
    const params = mixer.namedParameters();
    expect(params.map(([n]) => n).sort()).toEqual(Object.keys(fixture.weights).sort());
    for (const [name, p] of params) {
      const w = fixture.weights[name];
      const t = tf.tensor(w.data, w.shape);
      p.assign(t);
      t.dispose();
    }
    const x = tf.tensor3d(fixture.x, [B, L, D]);
    for (const causal of [false, true]) {
      const ctx = makeForwardContext(B, L, { causal });
      const y = mixer.forward(x, ctx);
      expectTensorsClose(y, causal ? fixture.causal : fixture.bidirectional, { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([y, ctx.positions]);
    }
    x.dispose();
    mixer.dispose();
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
