import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { SparseTransformerAttention, VERSION } from '@weft/attn-sparse-transformer';

interface Fixture {
  shape: [number, number, number, number];
  q: number[]; k: number[]; v: number[];
  cases: Array<{ pattern: 'strided' | 'fixed'; stride: number; c: number; out: number[] }>;
}
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'sparse-transformer.json'), 'utf8'));

describeWithBackends('sparse transformer: parity with the PyTorch port (tools/parity/attn-sparse-transformer.py)', () => {
  it('strided and fixed patterns, head 0 = A(1), head 1 = A(2)', () => {
    const [q, k, v] = [fixture.q, fixture.k, fixture.v].map((a) => tf.tensor4d(a, fixture.shape));
    for (const c of fixture.cases) {
      const kernel = new SparseTransformerAttention({ pattern: c.pattern, stride: c.stride, c: c.c, factorization: 'heads' });
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: true, scale: 1 / Math.sqrt(fixture.shape[3]) }));
      expectTensorsClose(out, c.out, { atol: 1e-5, rtol: 1e-4 });
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
