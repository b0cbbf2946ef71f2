import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { inverseFrequencies, RotaryEncoding } from '@weft/pos-rope';
import { LMInfiniteAttention, VERSION } from '@weft/attn-lm-infinite';

interface Fixture { shape: [number, number, number, number]; nGlobal: number; nLocal: number; q: number[]; k: number[]; v: number[]; out: number[] }
const fixture: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'lm-infinite.json'), 'utf8'));

describeWithBackends('lm-infinite: parity with the PyTorch port (tools/parity/attn-lm-infinite.py)', () => {
  it('Λ-masked causal attention matches', () => {
    const [q, k, v] = [fixture.q, fixture.k, fixture.v].map((a) => tf.tensor4d(a, fixture.shape));
    const out = new LMInfiniteAttention({ nGlobal: fixture.nGlobal, nLocal: fixture.nLocal }).attend(q, k, v, makeAttentionContext({ causal: true, scale: 1 / Math.sqrt(fixture.shape[3]) }));
    expectTensorsClose(out, fixture.out, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, out]);
  });

  it('with RoPE, distances clamped at nLocal (the distance limit) match', () => {
    const f: Fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'lm-infinite-rope.json'), 'utf8'));
    const D = f.shape[3];
    const rope = new RotaryEncoding({ headDim: D, rotaryDim: D, layout: 'interleaved', invFreq: inverseFrequencies(D, 10000) });
    const [q, k, v] = [f.q, f.k, f.v].map((a) => tf.tensor4d(a, f.shape));
    const out = new LMInfiniteAttention({ nGlobal: f.nGlobal, nLocal: f.nLocal }, rope).attend(q, k, v, makeAttentionContext({ causal: true, scale: 1 / Math.sqrt(D) }));
    expectTensorsClose(out, f.out, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([q, k, v, out]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
