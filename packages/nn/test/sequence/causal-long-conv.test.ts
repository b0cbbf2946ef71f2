/**
 * causalLongConv against a naive double loop written here:
 *   y[b, t, h] = Σ_{s ≤ t} K[h, t − s] · u[b, s, h]   (taps beyond the kernel's length are 0).
 */
import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck, leakedTensors } from '@weft/core/testing';
import { causalLongConv, causalToeplitz } from '@weft/nn';

beforeAll(() => useBackend('cpu'));

function naiveLongConv(u: Float32Array, k: Float32Array, B: number, L: number, H: number, Lk: number): Float64Array {
  const y = new Float64Array(B * L * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < L; t++)
      for (let h = 0; h < H; h++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) if (t - s < Lk) acc += k[h * Lk + (t - s)]! * u[(b * L + s) * H + h]!;
        y[(b * L + t) * H + h] = acc;
      }
  return y;
}

describe('causalLongConv (exact causal long convolution)', () => {
  it.each([
    [1, 1],
    [9, 9],
    [9, 4],
    [6, 13],
  ])('equals the naive loop (L = %i, kernel length %i)', (L, Lk) => {
    const [B, H] = [2, 3];
    const rng = new Rng(L * 31 + Lk);
    const us = rng.normalArray(B * L * H);
    const ks = rng.normalArray(H * Lk);
    const [u, K] = [tf.tensor(us, [B, L, H]), tf.tensor(ks, [H, Lk])];
    const y = causalLongConv(u, K);
    expectTensorsClose(y, naiveLongConv(us, ks, B, L, H, Lk), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([u, K, y]);
  });

  it('builds lower-triangular Toeplitz matrices', () => {
    const K = tf.tensor([[1, 2, 3]], [1, 3]);
    const T = causalToeplitz(K, 4);
    expect(Array.from(T.dataSync())).toEqual([1, 0, 0, 0, 2, 1, 0, 0, 3, 2, 1, 0, 0, 3, 2, 1]);
    tf.dispose([K, T]);
  });

  it('the last rows over the input history are the outputs of the newest tokens (decoding)', () => {
    const [B, L, H] = [1, 8, 2];
    const rng = new Rng(3);
    const u = rng.normalTensor([B, L, H]);
    const K = rng.normalTensor([H, L]);
    const full = causalLongConv(u, K);
    for (const t of [1, 5, 8]) {
      const prefix = causalLongConv(tf.slice(u, [0, 0, 0], [B, t, H]), K);
      expectTensorsClose(prefix, tf.slice(full, [0, 0, 0], [B, t, H]), { atol: 1e-5, rtol: 1e-5 });
      prefix.dispose();
    }
    tf.dispose([u, K, full]);
  });

  it('has finite-difference gradients for u and K', () => {
    const rng = new Rng(4);
    const u = rng.normalTensor([2, 5, 2]);
    const K = rng.normalTensor([2, 4]);
    const wy = rng.normalTensor([2, 5, 2]);
    gradCheck((uu, KK) => tf.sum(tf.mul(causalLongConv(uu, KK), wy)) as tf.Scalar, [u, K], { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    tf.dispose([u, K, wy]);
  });

  it('names the shapes it expects and does not leak tensors', () => {
    const u = tf.ones([1, 4, 2]);
    const K = tf.ones([2, 4]);
    expect(() => causalLongConv(u, tf.ones([3, 4]))).toThrow(/u must be \[B, L, H\] and K \[H, Lk\]; got u \[1,4,2\], K \[3,4\]/);
    expect(leakedTensors(() => tf.dispose(causalLongConv(u, K)))).toBe(0);
    tf.dispose([u, K]);
  });
});
