/**
 * Proposed for packages/nn/test (issue #8): DenseAttention with Hkv < H key/value heads (grouped
 * matmul, no repeat) against dense attention on k/v repeated to H heads by hand (contiguous groups:
 * query head h reads kv head floor(h / (H / Hkv))), for outputs, weights and gradients.
 */
import { Rng, tf, type AttentionContext, type Tensor } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { DenseAttention } from '../src/index.js';

/** [B, Hkv, L, D] -> [B, H, L, D] by concatenating head slices (the reference repeat). */
function repeatByHand(x: Tensor, H: number): Tensor {
  const Hkv = x.shape[1] as number;
  return tf.concat(Array.from({ length: H }, (_, h) => tf.slice(x, [0, Math.floor(h / (H / Hkv)), 0, 0], [-1, 1, -1, -1])), 1);
}

const ctx = (over: Partial<AttentionContext> = {}): AttentionContext => ({ causal: true, scale: 0.5, queryOffset: 0, training: false, rng: new Rng(0), layerIndex: 0, ...over });

it.each([1, 2, 4])('Hkv %i: grouped attention == attention over repeated k/v (causal, decode offset, per-head scale)', (Hkv) => {
  const H = 4, B = 2, Lq = 3, Lk = 7, Dh = 5;
  const q = tf.randomNormal([B, H, Lq, Dh], 0, 1, 'float32', 1);
  const k = tf.randomNormal([B, Hkv, Lk, Dh], 0, 1, 'float32', 2);
  const v = tf.randomNormal([B, Hkv, Lk, Dh], 0, 1, 'float32', 3);
  const kernel = new DenseAttention();
  for (const c of [ctx(), ctx({ queryOffset: Lk - Lq }), ctx({ scale: tf.tensor1d([0.1, 0.2, 0.3, 0.4]) })]) {
    expectTensorsClose(kernel.attend(q, k, v, c), kernel.attend(q, repeatByHand(k, H), repeatByHand(v, H), c), { atol: 1e-6 });
    expectTensorsClose(kernel.weights(q, k, c), kernel.weights(q, repeatByHand(k, H), c), { atol: 1e-6 });
  }
  const loss = (kk: Tensor, vv: Tensor) => tf.sum(tf.square(kernel.attend(q, kk, vv, ctx({ training: true })))) as tf.Scalar;
  const [gk, gv] = tf.grads((kk: Tensor, vv: Tensor) => loss(kk, vv))([k, v]);
  const [rk, rv] = tf.grads((kk: Tensor, vv: Tensor) => loss(repeatByHand(kk, H), repeatByHand(vv, H)))([k, v]);
  expectTensorsClose(gk, rk, { atol: 1e-5 });
  expectTensorsClose(gv, rv, { atol: 1e-5 });
});
