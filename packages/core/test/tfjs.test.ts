import { tf, useBackend, Rng, coreKernels } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck } from '@weft/core/testing';

describeWithBackends('tfjs access', () => {
  it('has gradients registered (optimizer.minimize works)', () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
    const opt = tf.train.sgd(0.1);
    const loss = opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, true)!;
    expect(loss.dataSync()[0]).toBeCloseTo(30, 4);
    expectTensorsClose(w, [0.8, 1.6, 2.4, 3.2], { atol: 1e-6 });
    tf.dispose([w, loss]);
    opt.dispose();
  });

  it('has chained ops registered', () => {
    const x = tf.tensor2d([[1, 2]]);
    const y = x.matMul(x.transpose()).add(1);
    expect(y.dataSync()[0]).toBe(6);
    tf.dispose([x, y]);
  });

  it('trains through gather (its gradient is UnsortedSegmentSum)', () => {
    const table = tf.variable(tf.tensor2d([[1, 1], [2, 2], [3, 3]]));
    const ids = tf.tensor1d([0, 2, 2], 'int32');
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table);
    expectTensorsClose(g, [1, 1, 0, 0, 2, 2], { atol: 0 });
    tf.dispose([table, ids, g]);
  });
});

describe('core kernels match the cpu backend', () => {
  it('wasm UnsortedSegmentSum == cpu UnsortedSegmentSum, including out-of-range ids', async () => {
    expect(coreKernels.map((k) => `${k.backendName}/${k.kernelName}`)).toContain('wasm/UnsortedSegmentSum');
    const rng = new Rng(5);
    const xValues = rng.normalArray(7 * 3 * 2);
    const ids = Int32Array.of(0, 4, 4, 1, -1, 9, 0);
    const run = () =>
      tf.tidy(() => Array.from(tf.unsortedSegmentSum(tf.tensor3d(xValues, [7, 3, 2]), tf.tensor1d(ids, 'int32'), 5).dataSync()));
    await useBackend('cpu');
    const cpu = run();
    await useBackend('wasm');
    const wasm = run();
    expectTensorsClose(wasm, cpu, { atol: 1e-6 });
    // 2-D segment ids
    const ids2 = tf.tensor2d([[0, 1], [1, 2]], [2, 2], 'int32');
    const x2 = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    const out = tf.unsortedSegmentSum(x2, ids2 as unknown as tf.Tensor1D, 3);
    expectTensorsClose(out, [1, 2, 8, 10, 7, 8], { atol: 0 });
    tf.dispose([ids2, x2, out]);
  });

  it('gather gradient checks against finite differences on wasm', async () => {
    await useBackend('wasm');
    const ids = tf.tensor1d([1, 1, 0], 'int32');
    const table = new Rng(3).normalTensor([2, 3]);
    const w = new Rng(4).normalTensor([3, 3]);
    gradCheck((t) => tf.sum(tf.mul(tf.gather(t, ids), w)) as tf.Scalar, [table]);
    tf.dispose([ids, table, w]);
  });
});

describeWithBackends('corrected gradients', () => {
  it('Cumsum gradient along a middle axis (tfjs 4.22 scans axis 0) matches finite differences', () => {
    const x = new Rng(8).normalTensor([2, 4, 3]);
    const w = new Rng(9).normalTensor([2, 4, 3]);
    for (const [exclusive, reverse] of [[false, false], [true, false], [false, true]] as const) {
      gradCheck((t) => tf.sum(tf.mul(tf.cumsum(t, 1, exclusive, reverse), w)) as tf.Scalar, [x]);
    }
    // Independent closed form: d/dx_j sum_i w_i cumsum(x)_i = sum_{i >= j} w_i.
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(t, 1), w)))(x);
    const wv = w.arraySync() as number[][][];
    const expected = wv.map((b) => b.map((_, j) => b[0].map((__, c) => b.slice(j).reduce((s, row) => s + row[c], 0))));
    expectTensorsClose(g, expected.flat(2), { atol: 1e-5 });
    tf.dispose([x, w, g]);
  });
});
