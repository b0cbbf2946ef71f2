/**
 * blockSparseAttention against dense attention written here with plain tf ops under the same
 * mask (a two-sided window of 2, key padding, segment ids): outputs, gradients (the recomputing
 * backward the engine uses while a gradient is recorded vs tfjs's autodiff of the dense
 * reference), and the logsumexp of blockSparseAttentionWithLse against a loop.
 *
 * Notation: B batch, H heads, L length, D head width, bq rows per block, K key slots per block.
 */
import { Rng, tf, type AttentionContext, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose } from '@weft/core/testing';
import { blockSparseAttention, blockSparseAttentionWithLse, emptyPlan, type BlockPlan, type HeadGroup } from '../src/index.js';

const B = 2, H = 3, L = 10, D = 4, W = 2, bq = 4;
const scale = 0.5;
const keep = Array.from({ length: B * L }, (_, t) => (t % 7 === 3 ? 0 : 1)); // [B·L] key padding
const seg = Array.from({ length: B * L }, (_, t) => (t % L < 6 ? 0 : 1)); // [B·L] segment ids
const window = (i: number, j: number) => Math.abs(i - j) <= W;
const allowed = (b: number, i: number, j: number) => window(i, j) && keep[b * L + j] === 1 && seg[b * L + i] === seg[b * L + j];

/** The window pattern as one plan: blocks of bq rows, each against its rows ± W (K = bq + 2W slots). */
function windowPlan(): BlockPlan {
  const nB = Math.ceil(L / bq);
  const K = bq + 2 * W;
  const plan = emptyPlan(nB, bq, K);
  for (let n = 0; n < nB; n++) {
    for (let t = 0; t < K; t++) {
      const j = n * bq - W + t;
      if (j >= 0 && j < L) plan.kIdx[n * K + t] = j;
    }
    for (let s = 0; s < bq && n * bq + s < L; s++) {
      const i = n * bq + s;
      plan.qIdx[n * bq + s] = i;
      for (let t = 0; t < K; t++) {
        const j = plan.kIdx[n * K + t];
        if (j >= 0 && window(i, j)) plan.allowed[(n * bq + s) * K + t] = 1;
      }
    }
  }
  return plan;
}

/** Two head groups out of order, so head picking and restoring the order run too. */
const groups = (): HeadGroup[] => [
  { heads: [1], plans: [windowPlan()] },
  { heads: [0, 2], plans: [windowPlan()] },
];

const context = (mask: Tensor, ids: Tensor): AttentionContext => ({
  causal: false, scale, queryOffset: 0, training: true, rng: new Rng(0), layerIndex: 0,
  keyPaddingMask: mask, querySegmentIds: ids, keySegmentIds: ids,
});

/** Dense reference: softmax(scale·q kᵀ + mask) v with tf ops, rows without an allowed key set to 0. */
function dense(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const m = new Float32Array(B * L * L);
  const rowOk = new Float32Array(B * L);
  for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) {
    const ok = allowed(b, i, j);
    m[(b * L + i) * L + j] = ok ? 0 : -1e9;
    if (ok) rowOk[b * L + i] = 1;
  }
  const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), tf.tensor4d(m, [B, 1, L, L])); // [B, H, L, L]
  return tf.mul(tf.matMul(tf.softmax(logits), v), tf.tensor4d(rowOk, [B, 1, L, 1])); // [B, H, L, D]
}

describeWithBackends('blockSparseAttention', () => {
  let q: Tensor, k: Tensor, v: Tensor, w: Tensor, mask: Tensor, ids: Tensor;
  beforeAll(() => {
    const rng = new Rng(3);
    [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([B, H, L, D]));
    mask = tf.tensor2d(keep, [B, L]);
    ids = tf.tensor2d(seg, [B, L], 'int32');
  });
  afterAll(() => tf.dispose([q, k, v, w, mask, ids]));

  it('equals dense attention under the same mask, and so do its recomputed gradients', () => {
    const before = tf.memory().numTensors;
    const c = context(mask, ids);
    const out = blockSparseAttention(q, k, v, c, groups());
    const ref = tf.tidy(() => dense(q, k, v));
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    const loss = (f: (a: Tensor, b: Tensor, e: Tensor) => Tensor) => (a: Tensor, b: Tensor, e: Tensor) => tf.sum(tf.mul(f(a, b, e), w));
    const g = tf.grads(loss((a, b, e) => blockSparseAttention(a, b, e, c, groups())))([q, k, v]);
    const gRef = tf.grads(loss(dense))([q, k, v]);
    g.forEach((x, i) => expectTensorsClose(x, gRef[i], { atol: 1e-4, rtol: 1e-3 }));
    tf.dispose([out, ref, ...g, ...gRef]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('blockSparseAttentionWithLse: the logsumexp of each row over its allowed keys (-1e30 without any)', () => {
    const [out, lse] = blockSparseAttentionWithLse(q, k, v, context(mask, ids), groups());
    const [qa, ka] = [q.dataSync(), k.dataSync()];
    const expected = new Float32Array(B * H * L);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) {
      const logits: number[] = [];
      for (let j = 0; j < L; j++) {
        if (!allowed(b, i, j)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qa[((b * H + h) * L + i) * D + d] * ka[((b * H + h) * L + j) * D + d];
        logits.push(dot * scale);
      }
      const mx = Math.max(...logits);
      expected[(b * H + h) * L + i] = logits.length ? mx + Math.log(logits.reduce((a, x) => a + Math.exp(x - mx), 0)) : -1e30;
    }
    expectTensorsClose(lse, expected, { atol: 1e-4, rtol: 1e-4 });
    const ref = tf.tidy(() => dense(q, k, v));
    expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([out, lse, ref]);
  });
});
