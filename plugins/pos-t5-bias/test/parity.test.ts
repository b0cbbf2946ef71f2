import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { relativePositionBucket, T5RelativeBias } from '@weft/pos-t5-bias';

// Produced by tools/parity/pos-t5-bias.py (PyTorch port of T5's float32 bucket function).
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 't5-bias.json'), 'utf8'));

describeWithBackends('T5 bias parity with the PyTorch port', () => {
  it('buckets for r in [-300, 300] in four configurations (scalar and tensor paths)', () => {
    for (const c of fx.buckets) {
      const o = { numBuckets: c.numBuckets, maxDistance: c.maxDistance, bidirectional: c.bidirectional };
      expect(c.relative.map((r: number) => relativePositionBucket(r, o))).toEqual(c.bucket);
      const enc = new T5RelativeBias({ ...o, heads: 1, initStd: 1 }, new Rng(0));
      const ids = tf.tidy(() => enc.buckets(tf.zeros([1, 1], 'int32'), tf.tensor2d([c.relative], [1, c.relative.length], 'int32')));
      expect(Array.from(ids.dataSync())).toEqual(c.bucket);
      ids.dispose();
      enc.dispose();
    }
  });

  it('bias tensors with the port\'s table match exactly', () => {
    for (const c of fx.biases) {
      const enc = new T5RelativeBias({ numBuckets: c.numBuckets, maxDistance: c.maxDistance, bidirectional: c.bidirectional, heads: c.heads, initStd: 1 }, new Rng(0));
      const table = tf.tensor2d(c.table, [c.numBuckets, c.heads]);
      enc.loadStateDict({ relative_attention_bias: table });
      const q = tf.tensor2d(c.qPos, undefined, 'int32');
      const k = tf.tensor2d(c.kPos, undefined, 'int32');
      const bias = enc.bias(q, k);
      expect(bias.shape).toEqual(c.shape);
      expectTensorsClose(bias, c.bias, { atol: 1e-7, rtol: 1e-7 });
      tf.dispose([table, q, k, bias]);
      enc.dispose();
    }
  });
});
