import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { ReformerAttention, VERSION } from '@weft/attn-reformer';

interface Fixture {
  shape: [number, number, number, number];
  numHashes: number; numBuckets: number; bucketSize: number;
  qk: number[]; v: number[]; R: number[];
  bidirectional: number[]; causal: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'reformer.json'), 'utf8'));

describeWithBackends('reformer: parity with the PyTorch port (tools/parity/attn-reformer.py)', () => {
  it('bidirectional and causal-masked outputs match for the fixture’s rotations', () => {
    const shape = fixture.shape;
    const [qk, v] = [fixture.qk, fixture.v].map((a) => tf.tensor4d(a, shape));
    const R = tf.tensor3d(fixture.R, [shape[3], fixture.numHashes, fixture.numBuckets / 2]);
    const kernel = new ReformerAttention({ numHashes: fixture.numHashes, numBuckets: fixture.numBuckets, bucketSize: fixture.bucketSize });
    for (const causal of [false, true]) {
      const out = kernel.attendWithRotations(qk, qk, v, makeAttentionContext({ causal, scale: 1 / Math.sqrt(shape[3]) }), R);
      expectTensorsClose(out, causal ? fixture.causal : fixture.bidirectional, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    tf.dispose([qk, v, R]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
