/** Parity with independent PyTorch ports (tools/parity/pos-temperature.py -> fixtures/temperature.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, type PositionalEncoding, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext } from '@weft/core/testing';
import { LognScaling, TempScale, alignTemperature } from '../src/index.js';

const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'temperature.json'), 'utf8'));
const [B, , L, D] = fx.shape as number[];

/** Attention output the way the mixer + dense kernel compose the hooks. */
function attend(enc: PositionalEncoding, causal: boolean): Tensor {
  return tf.tidy(() => {
    const ctx = makeForwardContext(B, L, { causal });
    const [q, k, v] = [tf.tensor(fx.q, fx.shape), tf.tensor(fx.k, fx.shape), tf.tensor(fx.v, fx.shape)];
    const [q2, k2] = enc.rotate ? enc.rotate(q, k, ctx.positions, ctx.positions, ctx) : [q, k];
    const s = enc.logitScale?.(ctx, L) as number;
    let logits = tf.mul(tf.matMul(q2, k2, false, true), s / Math.sqrt(D));
    if (causal) logits = tf.add(logits, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([L, L]), -1, 0)), -1e9));
    return tf.matMul(tf.softmax(logits), v);
  });
}

describeWithBackends('pos-temperature parity with PyTorch', () => {
  it('log-n, causal (n_i = i + 1) and bidirectional (n = L)', () => {
    const a = attend(new LognScaling({ base: Math.E }), true);
    const b = attend(new LognScaling({ base: Math.E }), false);
    expectTensorsClose(a, fx.lognCausal, { atol: 1e-5, rtol: 1e-4 });
    expectTensorsClose(b, fx.lognBidirectional, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([a, b]);
  });
  it('TempScale τ = 0.7', () => {
    const a = attend(new TempScale(0.7), true);
    expectTensorsClose(a, fx.tempscale07, { atol: 1e-5, rtol: 1e-4 });
    a.dispose();
  });
  it('the alignment search finds torch\'s τ', () => {
    const short = tf.tensor(fx.align.short, fx.align.shortShape);
    const long = tf.tensor(fx.align.long, fx.align.longShape);
    expect(alignTemperature(long, short, { tolerance: 1e-7 })).toBeCloseTo(fx.align.tau, 3);
    tf.dispose([short, long]);
  });
});
