import { Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose, gradCheck } from '@weft/core/testing';
import { wkv, wkvInitState, wkvStep } from '../src/index.js';
import { naiveWkv } from './reference.js';

beforeAll(() => useBackend('cpu'));

function inputs(seed: number, B: number, L: number, C: number, kScale = 1) {
  const rng = new Rng(seed);
  return { td: rng.normalArray(C, 0, 1), u: rng.normalArray(C, 0, 1), k: rng.normalArray(B * L * C, 0, kScale), v: rng.normalArray(B * L * C, 0, 1) };
}
const w = (td: ArrayLike<number>) => tf.neg(tf.exp(tf.tensor(td)));

describe('wkv (parallel scan) == the formula summed term by term in float64', () => {
  it.each([1, 2, 7, 33])('L = %i', (L) => {
    const [B, C] = [2, 3];
    const { td, u, k, v } = inputs(L, B, L, C, 2);
    const [wt, ut, kt, vt] = [w(td), tf.tensor(u), tf.tensor(k, [B, L, C]), tf.tensor(v, [B, L, C])];
    const y = wkv(wt, ut, kt, vt);
    expectTensorsClose(y, naiveWkv(td, u, k, v, B, L, C), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([wt, ut, kt, vt, y]);
  });

  it('resets at segment boundaries (packed sequences)', () => {
    const [B, L, C] = [2, 11, 2];
    const { td, u, k, v } = inputs(5, B, L, C);
    const segments = [
      [0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 3],
      [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7],
    ];
    const starts = segments.map((row) => row.map((id, t) => (t > 0 && id !== row[t - 1] ? 1 : 0)));
    const [wt, ut, kt, vt, r] = [w(td), tf.tensor(u), tf.tensor(k, [B, L, C]), tf.tensor(v, [B, L, C]), tf.tensor(starts.flat(), [B, L])];
    const y = wkv(wt, ut, kt, vt, { resets: r });
    expectTensorsClose(y, naiveWkv(td, u, k, v, B, L, C, segments), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([wt, ut, kt, vt, r, y]);
  });

  it('is stable with k = +60 and +100 (e^100 overflows float32) and matches a log-sum-exp float64 reference', () => {
    const [B, L, C] = [1, 9, 3];
    const { td, u, k, v } = inputs(9, B, L, C);
    k[0 * C + 0] = 60;
    k[3 * C + 1] = 100;
    k[4 * C + 2] = 60;
    k[5 * C + 2] = -60;
    const naive = tf.exp(tf.tensor(k)); // the unstabilised form's first step
    expect(Array.from(naive.dataSync()).some((e) => !Number.isFinite(e))).toBe(true);
    const [wt, ut, kt, vt] = [w(td), tf.tensor(u), tf.tensor(k, [B, L, C]), tf.tensor(v, [B, L, C])];
    const y = wkv(wt, ut, kt, vt);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    expectTensorsClose(y, naiveWkv(td, u, k, v, B, L, C), { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([naive, wt, ut, kt, vt, y]);
  });

  it('is stable at L = 4096 (finite; matches the reference at sampled positions)', () => {
    const [B, L, C] = [1, 4096, 2];
    const { td, u, k, v } = inputs(11, B, L, C, 4);
    td[0] = -6; // very slow decay: the sum spans thousands of tokens
    const [wt, ut, kt, vt] = [w(td), tf.tensor(u), tf.tensor(k, [B, L, C]), tf.tensor(v, [B, L, C])];
    const y = wkv(wt, ut, kt, vt).dataSync();
    expect(Array.from(y).every(Number.isFinite)).toBe(true);
    const ref = naiveWkv(td, u, k.slice(0, 1025 * C), v.slice(0, 1025 * C), B, 1025, C);
    for (const t of [0, 1, 511, 1024]) for (let c = 0; c < C; c++) expect(Math.abs(y[t * C + c] - ref[t * C + c])).toBeLessThan(1e-4);
    tf.dispose([wt, ut, kt, vt]);
  });

  it('wkvStep (kernel_forward, one token at a time) == the parallel scan', () => {
    const [B, L, C] = [2, 6, 3];
    const { td, u, k, v } = inputs(13, B, L, C, 3);
    const [wt, ut, kt, vt] = [w(td), tf.tensor(u), tf.tensor(k, [B, L, C]), tf.tensor(v, [B, L, C])];
    const full = wkv(wt, ut, kt, vt);
    let state = wkvInitState(B, C);
    const ys: tf.Tensor[] = [];
    for (let t = 0; t < L; t++) {
      const kt1 = tf.reshape(tf.slice(kt, [0, t, 0], [B, 1, C]), [B, C]);
      const vt1 = tf.reshape(tf.slice(vt, [0, t, 0], [B, 1, C]), [B, C]);
      const [y, next] = wkvStep(wt, ut, kt1, vt1, state);
      tf.dispose([kt1, vt1, state.a, state.b, state.p]);
      state = next;
      ys.push(y);
    }
    const stepped = tf.stack(ys, 1);
    expectTensorsClose(stepped, full, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([wt, ut, kt, vt, full, stepped, ...ys, state.a, state.b, state.p]);
  });

  it('has finite-difference gradients wrt w, u, k and v', () => {
    const [B, L, C] = [1, 5, 2];
    const rng = new Rng(17);
    const wt = tf.neg(rng.uniformTensor([C], 0.2, 1.5));
    const ut = rng.normalTensor([C]);
    const kt = rng.normalTensor([B, L, C]);
    const vt = rng.normalTensor([B, L, C]);
    const g = rng.normalTensor([B, L, C]);
    gradCheck((a, b, c, d) => tf.sum(tf.mul(wkv(a, b, c, d), g)) as tf.Scalar, [wt, ut, kt, vt], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    tf.dispose([wt, ut, kt, vt, g]);
  });

  it('does not leak tensors', () => {
    const [wt, ut, kt, vt] = [tf.fill([2], -0.5), tf.zeros([2]), tf.zeros([1, 9, 2]), tf.ones([1, 9, 2])];
    const before = tf.memory().numTensors;
    tf.dispose(wkv(wt, ut, kt, vt));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([wt, ut, kt, vt]);
  });

  it('refuses mismatched shapes', () => {
    const [wt, kt] = [tf.zeros([3]), tf.zeros([1, 4, 2])];
    expect(() => wkv(wt, wt, kt, kt)).toThrow(/w \[3\] and u \[3\] must have 2 entries/);
    tf.dispose([wt, kt]);
  });
});
