import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { BigbirdAttention, VERSION } from '@weft/attn-bigbird';

interface Fixture {
  shape: [number, number, number, number];
  blockSize: number;
  numRandomBlocks: number;
  table: number[][][];
  q: number[]; k: number[]; v: number[]; out: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'bigbird.json'), 'utf8'));

describeWithBackends('bigbird: parity with the blocked PyTorch port (tools/parity/attn-bigbird.py)', () => {
  it('the output for the fixture’s random table matches', () => {
    const shape = fixture.shape;
    const [q, k, v] = [fixture.q, fixture.k, fixture.v].map((a) => tf.tensor4d(a, shape));
    const kernel = new BigbirdAttention({ blockSize: fixture.blockSize, numRandomBlocks: fixture.numRandomBlocks, seed: 0 });
    const out = kernel.attendWithTable(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(shape[3]) }), fixture.table);
    expectTensorsClose(out, fixture.out, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, out]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
