import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { DenseAttention } from '@weft/nn';
import { AlibiBias, alibiSlopes } from '@weft/pos-alibi';

// Produced by tools/parity/pos-alibi.py (PyTorch, fairseq-style +m*j bias under a causal mask).
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'alibi.json'), 'utf8'));

describeWithBackends('ALiBi parity with the PyTorch port', () => {
  it('slopes for H = 1..16 match', () => {
    for (const [H, slopes] of Object.entries(fx.slopesByHeads as Record<string, number[]>)) {
      expectTensorsClose(alibiSlopes(Number(H)), slopes, { atol: 0, rtol: 1e-13 });
    }
  });

  it('bias tile (queries 3..9, keys 0..9) matches', () => {
    const { H } = fx.dims;
    const enc = new AlibiBias(H);
    const [q0, q1] = fx.biasTile.queries;
    const [k0, k1] = fx.biasTile.keys;
    const bias = tf.tidy(() => enc.bias(tf.range(q0, q1, 1, 'int32').expandDims(0), tf.range(k0, k1, 1, 'int32').expandDims(0)));
    expect(bias.shape).toEqual(fx.biasTile.shape);
    expectTensorsClose(bias, fx.biasTile.data, { atol: 1e-6, rtol: 1e-6 });
    bias.dispose();
  });

  it('causal attention output (H = 6) matches the port to 1e-5', () => {
    const { B, H, L, D } = fx.dims;
    const enc = new AlibiBias(H);
    const out = tf.tidy(() => {
      const [q, k, v] = [fx.q, fx.k, fx.v].map((a: number[]) => tf.tensor4d(a, [B, H, L, D]));
      const pos = tf.tile(tf.range(0, L, 1, 'int32').expandDims(0), [B, 1]);
      return new DenseAttention().attend(q, k, v, makeAttentionContext({
        causal: true, scale: 1 / Math.sqrt(D), queryOffset: 0,
        logitBias: (qr, kr) => enc.bias(pos.slice([0, qr.start], [-1, qr.end - qr.start]), pos.slice([0, kr.start], [-1, kr.end - kr.start])),
      }));
    });
    expectTensorsClose(out, fx.out.data, { atol: 1e-5, rtol: 1e-5 });
    out.dispose();
  });
});
