import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { LongnetAttention, VERSION } from '@weft/attn-longnet';

interface Fixture {
  shape: [number, number, number, number];
  segmentLengths: number[];
  dilations: number[];
  q: number[]; k: number[]; v: number[];
  bidirectional: number[]; causal: number[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'longnet.json'), 'utf8'));

describeWithBackends('longnet: parity with the torchscale-layout PyTorch port (tools/parity/attn-longnet.py)', () => {
  it('bidirectional and causal outputs match', () => {
    const shape = fixture.shape;
    const [q, k, v] = [fixture.q, fixture.k, fixture.v].map((a) => tf.tensor4d(a, shape));
    const kernel = new LongnetAttention({ segmentLengths: fixture.segmentLengths, dilations: fixture.dilations } as never);
    for (const causal of [false, true]) {
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal, scale: 1 / Math.sqrt(shape[3]) }));
      expectTensorsClose(out, causal ? fixture.causal : fixture.bidirectional, { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
    }
    tf.dispose([q, k, v]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
