/**
 * The memory claim of FlashAttention: at L = 2048 no L×L float tensor (16 MiB) is ever
 * allocated, forward or backward. tf.profile's peakBytes is the largest total of live tensor
 * bytes after any kernel ran inside the profiled function (it counts every op, including those
 * inside the custom gradient); the dense attention shows the measurement does see an L×L
 * tensor when one exists.
 */
import { tf, type Tensor } from '@weft/core';
import { describeWithBackends } from '@weft/core/testing';
import { fusedMemoryBytes } from '../src/kernels/wasm/FlashAttention_impl.js';
import { biasFn, ctx, denseAttention, inputs, makeKernel } from './helpers.js';

const L = 2048;
const LL_BYTES = L * L * 4;

/** Peak live tensor bytes above the starting point, and the largest tensor any op produced (elements). */
async function measure(fn: () => Tensor[]): Promise<{ peak: number; largest: number }> {
  const base = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const out = fn();
    tf.dispose(out);
    return [] as Tensor[];
  });
  const largest = Math.max(...info.kernels.flatMap((k) => k.outputShapes.map((s) => (s as number[]).reduce((a, b) => a * b, 1))));
  return { peak: info.peakBytes - base, largest };
}

// wasm only: tf.profile makes the cpu backend very slow (minutes); the tensors allocated
// by the tiled path do not depend on the backend.
describeWithBackends('memory: no L×L tensor at L = 2048 (B = 1, H = 1, Dh = 16)', (backend) => {
  let q: Tensor, k: Tensor, v: Tensor, pad: Tensor;
  beforeAll(() => {
    ({ q, k, v } = inputs(31, { B: 1, H: 1, Lq: L, Lk: L, Dh: 16 }));
    pad = tf.tensor2d(Array.from({ length: L }, (_, j) => (j < L - 100 ? 1 : 0)), [1, L]);
  });
  afterAll(() => tf.dispose([q, k, v, pad]));
  const bias = biasFn(1, 1);
  const loss = (out: Tensor) => tf.sum(tf.mul(out, out)) as tf.Scalar;

  it(`tiled, forward + backward, causal with padding and a lazy bias [${backend}]`, async () => {
    const kernel = makeKernel({ blockQ: 128, blockK: 128, implementation: 'tiled' });
    const c = ctx({ causal: true, scale: 0.25, queryOffset: 0, keyPaddingMask: pad, logitBias: bias.lazy });
    const { peak, largest } = await measure(() => tf.grads((a: Tensor, b: Tensor, d: Tensor) => loss(kernel.attend(a, b, d, c)))([q, k, v]));
    expect(largest).toBeLessThanOrEqual(L * 16); // the inputs' size: tiles are 128 × 128
    expect(peak).toBeLessThan(LL_BYTES / 4);
  });

  it(`tiled, backward with a learned bias (a trainable slope): its gradient needs no L×L tensor either [${backend}]`, async () => {
    const kernel = makeKernel({ blockQ: 128, blockK: 128, implementation: 'tiled' });
    const slope = tf.variable(tf.scalar(0.05));
    const learned = (qr: { start: number; end: number }, kr: { start: number; end: number }) =>
      tf.tidy(() => tf.abs(tf.sub(tf.range(qr.start, qr.end).reshape([1, 1, -1, 1]), tf.range(kr.start, kr.end).reshape([1, 1, 1, -1]))).mul(slope).neg()); // -m|i - j|, [1, 1, rows, cols]
    const c = ctx({ causal: true, scale: 0.25, queryOffset: 0, logitBias: learned });
    let dSlope = 0;
    const { peak, largest } = await measure(() => {
      const { value, grads } = tf.variableGrads(() => loss(kernel.attend(q, k, v, c)), [slope]);
      dSlope = grads[slope.name].dataSync()[0];
      return [value, grads[slope.name]];
    });
    expect(Math.abs(dSlope)).toBeGreaterThan(0); // the slope got a gradient
    expect(largest).toBeLessThanOrEqual(L * 16);
    expect(peak).toBeLessThan(LL_BYTES / 4);
    slope.dispose();
  });

  it(`fused, forward + backward: tfjs peak and the kernel's own memory stay O(L) [${backend}]`, async () => {
    const kernel = makeKernel({ implementation: 'fused' });
    const c = ctx({ causal: false, scale: 0.25, keyPaddingMask: pad, logitBias: bias.lazy });
    const { peak, largest } = await measure(() => tf.grads((a: Tensor, b: Tensor, d: Tensor) => loss(kernel.attend(a, b, d, c)))([q, k, v]));
    expect(largest).toBeLessThanOrEqual(64 * L); // one bias strip B_r × L
    expect(peak).toBeLessThan(LL_BYTES / 3); // a few temporaries of the bias strip
    expect(fusedMemoryBytes()).toBeGreaterThan(0);
    expect(fusedMemoryBytes()).toBeLessThan(LL_BYTES / 2);
  });

  it(`the measurement sees the L×L tensor of dense attention [${backend}]`, async () => {
    const { peak, largest } = await measure(() => [denseAttention(q, k, v, { scale: 0.25 })]);
    expect(largest).toBeGreaterThanOrEqual(L * L);
    expect(peak).toBeGreaterThanOrEqual(LL_BYTES);
  });
}, ['wasm']);
