import { createRegistry, DEFAULT_DIMS, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, leakedTensors, makeForwardContext, positionalConformance } from '@weft/core/testing';
import t5Bias, { relativePositionBucket, T5RelativeBias } from '@weft/pos-t5-bias';

const opts = (bidirectional: boolean) => ({ numBuckets: 32, maxDistance: 128, bidirectional, heads: 3, initStd: 1 });

describeWithBackends('T5 relative bias', () => {
  for (const bidirectional of [false, true]) {
    it(`${bidirectional ? 'bidirectional' : 'causal'}: bias[b,h,i,j] = W[bucket(kPos - qPos), h] (naive loops)`, () => {
      const enc = new T5RelativeBias(opts(bidirectional), new Rng(1));
      const W = enc.table.arraySync() as number[][];
      const qPos = [[0, 9, 40, 300], [2, 3, 4, 5]];
      const kPos = [[0, 1, 8, 9, 10, 50, 200, 500], [7, 6, 5, 4, 3, 2, 1, 0]];
      const q = tf.tensor2d(qPos, [2, 4], 'int32');
      const k = tf.tensor2d(kPos, [2, 8], 'int32');
      const bias = enc.bias(q, k);
      expect(bias.shape).toEqual([2, 3, 4, 8]);
      const expected: number[] = [];
      for (let b = 0; b < 2; b++)
        for (let h = 0; h < 3; h++)
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 8; j++) expected.push(W[relativePositionBucket(kPos[b][j] - qPos[b][i], opts(bidirectional))][h]);
      expectTensorsClose(bias, expected, { atol: 0, rtol: 0 });
      tf.dispose([q, k, bias]);
      enc.dispose();
    });
  }

  it('gradients reach the table: d sum(G ⊙ bias) / dW[n, h] = sum of G over the pairs in bucket n', () => {
    const enc = new T5RelativeBias(opts(false), new Rng(2));
    const L = 12;
    const pos = tf.range(0, L, 1, 'int32').expandDims(0);
    const G = new Rng(3).normalTensor([1, 3, L, L]);
    const grad = tf.grad((w: tf.Tensor) => {
      // the bias as a function of an explicit table w: gather W[bucket] and lay it out [1, H, L, L]
      const ids = enc.buckets(pos, pos); // [1, L, L]
      return tf.sum(tf.mul(G, tf.transpose(tf.gather(w, ids), [0, 3, 1, 2])));
    })(enc.table);
    const g = G.arraySync() as number[][][][];
    const expected = Array.from({ length: 32 }, () => [0, 0, 0]);
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) for (let h = 0; h < 3; h++) expected[relativePositionBucket(j - i, opts(false))][h] += g[0][h][i][j];
    expectTensorsClose(grad, expected.flat(), { atol: 1e-5, rtol: 1e-5 });
    // and through the module itself: optimiser variable gradients find the table
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(G, enc.bias(pos, pos))) as tf.Scalar, [enc.table]);
    expectTensorsClose(grads[enc.table.name], expected.flat(), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([pos, G, grad, ...Object.values(grads)]);
    enc.dispose();
  });

  it('leaks nothing and allocates only the requested tile', () => {
    const enc = new T5RelativeBias(opts(true), new Rng(4));
    const ctx = makeForwardContext(2, 6);
    expect(leakedTensors(() => enc.bias(ctx.positions, ctx.positions).dispose())).toBe(0);
    const q = tf.range(4000, 4010, 1, 'int32').expandDims(0);
    const k = tf.range(0, 4096, 1, 'int32').expandDims(0);
    const before = tf.memory().numBytes;
    const tile = enc.bias(q, k);
    expect(tf.memory().numBytes - before).toBe(4 * 3 * 10 * 4096);
    tf.dispose([tile, q, k, ctx.positions]);
    enc.dispose();
  });

  it('the registry builds it with the model head count and a dModel^-1/2 init', () => {
    const registry = createRegistry().use(t5Bias);
    const enc = registry.create('positional', { kind: 't5-bias', numBuckets: 16 }, { dims: { ...DEFAULT_DIMS, heads: 6, dModel: 100 } }) as T5RelativeBias;
    expect(enc.table.shape).toEqual([16, 6]);
    const values = Array.from(enc.table.dataSync());
    const std = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(0.05);
    expect(std).toBeLessThan(0.2);
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 't5-bias' }))).toEqual({ embed: false, rotate: false, bias: true, perLayer: false });
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 't5-bias', perLayer: true })).perLayer).toBe(true);
    enc.dispose();
  });

  positionalConformance('t5-bias', () => new T5RelativeBias(opts(false), new Rng(5)), { heads: 3, headDim: 8, dModel: 24 });
  positionalConformance('t5-bias (bidirectional)', () => new T5RelativeBias(opts(true), new Rng(5)), { heads: 3, headDim: 8, dModel: 24 });
});
