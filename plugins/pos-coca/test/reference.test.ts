/** CoCA equals the paper's collinear-key score, keeps the constraint, and is relative. */
import { Rng, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck } from '@weft/core/testing';
import { applyRotary } from '@weft/pos-rope';
import { rotaryAngles } from '@weft/pos-rope';
import { CocaEncoding, collinearKeys } from '../src/index.js';
import { naiveCocaScores } from './naive.js';

const scoresOf = (enc: CocaEncoding, q: Tensor, k: Tensor, qp: Tensor, kp: Tensor): Tensor =>
  tf.tidy(() => {
    const [qf, kf] = enc.rotate(q, k, qp, kp);
    const H = q.shape[1] as number;
    const Hkv = k.shape[1] as number;
    const kRep = tf.gather(kf, tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv))), 'int32'), 1);
    return tf.matMul(qf, kRep, false, true); // [B, H, Lq, Lk]
  });

describeWithBackends('pos-coca reference', () => {
  const rng = new Rng(3);
  const B = 2, H = 4, Hkv = 2, Lq = 3, Lk = 5, Dh = 8;

  for (const layout of ['half-split', 'interleaved'] as const) {
    it(`${layout}: q̃·k̃ equals the naive collinear-key score (GQA, different q/k positions)`, () => {
      const enc = new CocaEncoding({ headDim: Dh, base: 10000, layout });
      const q = rng.normalTensor([B, H, Lq, Dh]);
      const k = rng.normalTensor([B, Hkv, Lk, Dh]);
      const qp = tf.tensor2d([[4, 5, 6], [10, 11, 12]], [B, Lq], 'int32');
      const kp = tf.tensor2d([[0, 1, 2, 3, 4], [8, 9, 10, 11, 12]], [B, Lk], 'int32');
      const s = scoresOf(enc, q, k, qp, kp);
      const ref = naiveCocaScores(q.dataSync(), q.shape, k.dataSync(), k.shape, qp.dataSync(), kp.dataSync(), { base: 10000, layout });
      expectTensorsClose(s, ref, { atol: 1e-4, rtol: 1e-4 });
      tf.dispose([q, k, qp, kp, s]);
    });
  }

  it('collinearity: per plane, every constrained key is a non-negative multiple of its query (before rotation)', () => {
    for (const layout of ['half-split', 'interleaved'] as const) {
      const enc = new CocaEncoding({ headDim: Dh, base: 10000, layout });
      const q = rng.normalTensor([1, H, Lq, Dh]);
      const k = rng.normalTensor([1, Hkv, Lk, Dh]);
      const K = collinearKeys(enc, q, k); // [1, H, Lq, Lk, Dh]
      const kd = K.arraySync() as number[][][][][];
      const qd = q.arraySync() as number[][][][];
      const P = Dh / 2;
      let zeros = 0;
      for (let h = 0; h < H; h++)
        for (let m = 0; m < Lq; m++)
          for (let n = 0; n < Lk; n++)
            for (let i = 0; i < P; i++) {
              const [a, b] = layout === 'half-split' ? [i, i + P] : [2 * i, 2 * i + 1];
              const qv = [qd[0][h][m][a], qd[0][h][m][b]];
              const kv = [kd[0][h][m][n][a], kd[0][h][m][n][b]];
              expect(Math.abs(qv[0] * kv[1] - qv[1] * kv[0])).toBeLessThan(1e-6); // 2-D cross product: collinear
              expect(qv[0] * kv[0] + qv[1] * kv[1]).toBeGreaterThanOrEqual(-1e-7); // same direction (t ≥ 0)
              if (kv[0] === 0 && kv[1] === 0) zeros++;
            }
      expect(zeros).toBeGreaterThan(0); // ReLU clips some t to 0 on random inputs...
      expect(zeros).toBeLessThan(H * Lq * Lk * P); // ...but not all
      tf.dispose([q, k, K]);
    }
  });

  it('dense equivalent: scoring the explicit collinear keys with pos-rope rotations gives the same logits', () => {
    const enc = new CocaEncoding({ headDim: Dh, base: 100, layout: 'half-split' });
    const q = rng.normalTensor([1, 2, Lq, Dh]);
    const k = rng.normalTensor([1, 2, Lk, Dh]);
    const qp = tf.tensor2d([[7, 8, 9]], [1, Lq], 'int32');
    const kp = tf.tensor2d([[3, 5, 6, 8, 9]], [1, Lk], 'int32');
    const fast = scoresOf(enc, q, k, qp, kp);
    const dense = tf.tidy(() => {
      const inv = Array.from({ length: Dh / 2 }, (_, i) => Math.pow(100, (-2 * i) / Dh));
      const qr = applyRotary(q, rotaryAngles(qp, inv), Dh, 'half-split'); // [1, 2, Lq, Dh]
      const K = collinearKeys(enc, q, k); // [1, 2, Lq, Lk, Dh]
      const rows: Tensor[] = [];
      for (let m = 0; m < Lq; m++) {
        const Km = tf.squeeze(tf.slice(K, [0, 0, m, 0, 0], [-1, -1, 1, -1, -1]), [2]); // [1, 2, Lk, Dh]
        const Kr = applyRotary(Km, rotaryAngles(kp, inv), Dh, 'half-split');
        const qm = tf.slice(qr, [0, 0, m, 0], [-1, -1, 1, -1]); // [1, 2, 1, Dh]
        rows.push(tf.matMul(qm, Kr, false, true)); // [1, 2, 1, Lk]
      }
      return tf.concat(rows, 2);
    });
    expectTensorsClose(fast, dense, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([q, k, qp, kp, fast, dense]);
  });

  it('relative: the scores are unchanged when all positions shift by the same offset, and change with the offset between q and k', () => {
    const enc = new CocaEncoding({ headDim: Dh, base: 10000, layout: 'half-split' });
    const q = rng.normalTensor([1, 2, 5, Dh]);
    const k = rng.normalTensor([1, 2, 5, Dh]);
    const at = (qOff: number, kOff: number) =>
      tf.tidy(() => scoresOf(enc, q, k, tf.range(qOff, qOff + 5, 1, 'int32').expandDims(0), tf.range(kOff, kOff + 5, 1, 'int32').expandDims(0)));
    const s0 = at(0, 0);
    const s1 = at(37, 37);
    const s2 = at(1000, 1000);
    const moved = at(3, 0);
    expectTensorsClose(s1, s0, { atol: 1e-4, rtol: 1e-4 });
    expectTensorsClose(s2, s0, { atol: 2e-3, rtol: 2e-3 });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(moved, s0))).dataSync()[0])).toBeGreaterThan(1e-2);
    tf.dispose([q, k, s0, s1, s2, moved]);
  });

  it('a plane whose query is aligned with itself scores |q|²·t at distance 0 (no initial angle: the "headache" is gone)', () => {
    // At m = n the CoCA score is Σ_i t^i |q^i|² ≥ 0 for any q, k — vanilla RoPE can give any sign.
    const enc = new CocaEncoding({ headDim: Dh, base: 10000, layout: 'interleaved' });
    const q = rng.normalTensor([1, 1, 6, Dh]);
    const k = rng.normalTensor([1, 1, 6, Dh]);
    const pos = tf.tensor2d([[0, 1, 2, 3, 4, 5]], [1, 6], 'int32');
    const s = scoresOf(enc, q, k, pos, pos);
    const diag = tf.tidy(() => tf.mul(s, tf.eye(6).reshape([1, 1, 6, 6])).sum(-1));
    expect(Math.min(...diag.dataSync())).toBeGreaterThanOrEqual(0);
    tf.dispose([q, k, pos, s, diag]);
  });

  it('gradients of the scores w.r.t. q and the key projection match finite differences', () => {
    const enc = new CocaEncoding({ headDim: 4, base: 100, layout: 'half-split' });
    const q = rng.normalTensor([1, 1, 3, 4]);
    // keep (T_a + T_b)/2 away from the ReLU kink so central differences are valid
    const k = tf.tensor4d([[[[0.9, 0.3, 0.5, 0.8], [-1.2, 1.0, -0.7, 0.2], [0.4, -0.6, 1.1, 0.9]]]]);
    const w = rng.normalTensor([1, 1, 3, 3]);
    const qp = tf.tensor2d([[2, 3, 4]], [1, 3], 'int32');
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(scoresOf(enc, a, b, qp, qp), w)) as tf.Scalar);
    const { maxAbsError } = gradCheck(f, [q, k], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    expect(maxAbsError).toBeLessThan(2e-2);
    tf.dispose([q, k, w, qp]);
  });
});
