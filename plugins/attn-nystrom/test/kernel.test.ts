import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tf, type Tensor } from '@weft/core';
import { attentionKernelConformance, describeWithBackends, expectTensorsClose, gradCheck, makeAttentionContext, naiveAttention } from '@weft/core/testing';
import { depthwiseSequenceConv, iterativePinv, nystromAttention, NystromAttention, VERSION, type NystromSettings } from '@weft/attn-nystrom';
import { heads, inverse, landmarkKernel, maxColumnSum, naiveNystrom, naiveSoftmax, newtonPinv, softmaxRows, type Mat } from './naive.js';

const settings = (landmarks: number, extra: Partial<NystromSettings> = {}): NystromSettings => ({ landmarks, pinvIterations: 6, pinvInit: 'original', ...extra });
const make = (landmarks = 4, extra: Partial<NystromSettings> = {}, H = 2) => new NystromAttention(settings(landmarks, extra), H, new Rng(0));
const flat = (ms: Mat[]) => ms.flatMap((m) => m.flat());
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

attentionKernelConformance('nystrom', () => make(4), { exact: false });
attentionKernelConformance('nystrom (m = n: exact path)', () => make(12), { exact: true });

describeWithBackends('iterative pseudo-inverse (eq. 16)', () => {
  // A well-conditioned row-stochastic 4×4 matrix (diagonally dominant), written out.
  const A: Mat = softmaxRows([
    [2.0, 0.1, -0.3, 0.4],
    [0.2, 1.8, 0.0, -0.5],
    [-0.1, 0.3, 2.2, 0.1],
    [0.5, -0.2, 0.1, 1.9],
  ]);

  it('converges to the inverse (Gauss-Jordan in the test) given enough iterations; 6 are already close here', () => {
    const ref = inverse(A).flat();
    const At = tf.tensor4d(A.flat(), [1, 1, 4, 4]);
    for (const [iterations, tol] of [[20, 1e-4], [6, 2e-2]] as const) {
      const Z = iterativePinv(At, iterations, 'original');
      expect(maxAbs(Z.dataSync(), ref)).toBeLessThan(tol);
      Z.dispose();
    }
    At.dispose();
  });

  it('each iteration equals the loop reference, both inits (A·Z·A → A as it converges)', () => {
    const A2: Mat = softmaxRows([[0.3, 1.2, -0.4, 0.0], [1.0, 0.2, 0.6, -0.8], [0.1, 0.1, 0.9, 0.5], [-0.6, 0.7, 0.2, 1.1]]);
    const both = tf.tensor4d([...A.flat(), ...A2.flat()], [1, 2, 4, 4]);
    const cAll = Math.max(maxColumnSum(A), maxColumnSum(A2));
    for (const iterations of [0, 1, 3, 6]) {
      const orig = iterativePinv(both, iterations, 'original');
      expectTensorsClose(orig, [...newtonPinv(A, iterations, cAll).flat(), ...newtonPinv(A2, iterations, cAll).flat()], { atol: 1e-5, rtol: 1e-4 });
      const exact = iterativePinv(both, iterations, 'exact');
      expectTensorsClose(exact, [...newtonPinv(A, iterations, maxColumnSum(A)).flat(), ...newtonPinv(A2, iterations, maxColumnSum(A2)).flat()], { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([orig, exact]);
    }
    both.dispose();
  });

  it("'original' init is batch-dependent (max column-sum over the whole tensor), 'exact' is not", () => {
    const big: Mat = A.map((row) => row.map((x) => 3 * x)); // column sums ~3× larger
    const alone = tf.tensor4d(A.flat(), [1, 1, 4, 4]);
    const withBig = tf.tensor4d([...A.flat(), ...big.flat()], [2, 1, 4, 4]);
    const [o1, o2, e1, e2] = [iterativePinv(alone, 2, 'original'), iterativePinv(withBig, 2, 'original'), iterativePinv(alone, 2, 'exact'), iterativePinv(withBig, 2, 'exact')];
    expect(maxAbs(o1.dataSync(), o2.dataSync().slice(0, 16))).toBeGreaterThan(1e-2);
    expect(maxAbs(e1.dataSync(), e2.dataSync().slice(0, 16))).toBeLessThan(1e-6);
    tf.dispose([alone, withBig, o1, o2, e1, e2]);
  });
});

describeWithBackends('nystrom vs eq. (14)-(16) written naively', () => {
  const B = 2, H = 2, n = 12, D = 4;
  const rng = new Rng(3);
  let q: Tensor, k: Tensor, v: Tensor;
  let Q: Mat[], K: Mat[], V: Mat[];
  beforeAll(() => {
    [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, n, D]));
    [Q, K, V] = [q, k, v].map((t) => heads(t.dataSync(), B, H, n, D));
  });
  afterAll(() => tf.dispose([q, k, v]));

  for (const m of [2, 3, 4, 6]) {
    it(`m = ${m}: equals the loop reference (6 iterations, 'original' init over the whole batch)`, () => {
      const c = Math.max(...Q.map((qh, i) => maxColumnSum(landmarkKernel(qh, K[i], m))));
      const ref = flat(Q.map((qh, i) => naiveNystrom(qh, K[i], V[i], m, (A) => newtonPinv(A, 6, c))));
      const out = make(m).attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
      expectTensorsClose(out, ref, { atol: 1e-4, rtol: 1e-4 });
      out.dispose();
    });
  }

  it('m = n: the kernel takes the exact path, and the Nyström formula with an exact inverse gives softmax attention too (S S⁻¹ S = S)', () => {
    const out = make(n).attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
    const soft = flat(Q.map((qh, i) => naiveSoftmax(qh, K[i], V[i])));
    expectTensorsClose(out, soft, { atol: 1e-5, rtol: 1e-4 });
    const viaFormula = flat(Q.map((qh, i) => naiveNystrom(qh, K[i], V[i], n, inverse)));
    expect(maxAbs(viaFormula, soft)).toBeLessThan(1e-6);
    out.dispose();
  });

  it('m < n differs from softmax attention on random inputs', () => {
    const out = make(3).attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
    expect(maxAbs(out.dataSync(), flat(Q.map((qh, i) => naiveSoftmax(qh, K[i], V[i]))))).toBeGreaterThan(0.05);
    out.dispose();
  });

  it('the conv skip adds Σ_t w[h, t] V[i + t − ⌊ks/2⌋] (zero padded)', () => {
    const ks = 3;
    const kernel = make(4, { convKernelSize: ks });
    const w = kernel.conv!.weight.dataSync();
    const plain = make(4).attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
    const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
    const p = plain.dataSync(), o = out.dataSync();
    V.forEach((vh, bh) => {
      const h = bh % H;
      for (let i = 0; i < n; i++)
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let t = 0; t < ks; t++) {
            const j = i + t - 1;
            if (j >= 0 && j < n) s += w[h * ks + t] * vh[j][d];
          }
          expect(Math.abs(o[(bh * n + i) * D + d] - p[(bh * n + i) * D + d] - s)).toBeLessThan(1e-5);
        }
    });
    expect(kernel.namedParameters().map(([name, t]) => [name, t.shape])).toEqual([['conv.weight', [H, ks]]]);
    tf.dispose([plain, out]);
    kernel.dispose();
  });

  it('refuses lengths that are not a multiple of m, causal use and key padding, saying what to do', () => {
    const kernel = make(5);
    expect(() => kernel.attend(q, k, v, makeAttentionContext({ causal: false }))).toThrow(/sequence length 12 is not a multiple of landmarks=5.*set the attention option landmarks to a divisor of 12/);
    expect(() => make(4).attend(q, k, v, makeAttentionContext({ causal: true }))).toThrow(/bidirectional only.*use a causal kernel/);
    const mask = tf.ones([B, n]);
    expect(() => make(4).attend(q, k, v, makeAttentionContext({ causal: false, keyPaddingMask: mask }))).toThrow(/key padding is not supported/);
    mask.dispose();
  });
});

describeWithBackends('nystrom: the approximation error falls as m grows', () => {
  it('n = 32, random inputs: mean |error| vs softmax shrinks from m = 2 to 8 to 16 and vanishes at m = n (default 6 iterations)', () => {
    const B = 2, H = 2, n = 32, D = 8;
    const rng = new Rng(21);
    const [q, k, v] = [0, 1, 2].map(() => rng.normalTensor([B, H, n, D]));
    const soft = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: n, Lk: n, Dh: D }, { causal: false, scale: 1 / Math.sqrt(D) });
    const err = (m: number) => {
      const out = make(m).attend(q, k, v, makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) }));
      const o = out.dataSync();
      out.dispose();
      return Array.from(o, (x, i) => Math.abs(x - soft[i])).reduce((a, b) => a + b, 0) / o.length;
    };
    const errors = [2, 8, 16, 32].map(err); // ~0.15, 0.12, 0.08, 0 in the PyTorch port over 10 seeds
    expect(errors[1]).toBeLessThan(errors[0]);
    expect(errors[2]).toBeLessThan(errors[1]);
    expect(errors[3]).toBeLessThan(1e-5);
    tf.dispose([q, k, v]);
  });
});

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'nystrom.json'), 'utf8'));

describeWithBackends('nystrom: parity with the PyTorch port (tools/parity/attn-nystrom.py)', () => {
  it("'original' and 'exact' init, the conv skip, and m = n", () => {
    const [B, H, n, D] = fixture.shape as number[];
    const [q, k, v] = [tf.tensor4d(fixture.q, [B, H, n, D]), tf.tensor4d(fixture.k, [B, H, n, D]), tf.tensor4d(fixture.v, [B, H, n, D])];
    const ctx = makeAttentionContext({ causal: false, scale: 1 / Math.sqrt(D) });
    const conv = make(fixture.landmarks, { convKernelSize: fixture.convKernelSize }, H);
    conv.conv!.weight.assign(tf.tensor2d(fixture.convWeight, [H, fixture.convKernelSize]));
    const cases: Array<[NystromAttention, string]> = [
      [make(fixture.landmarks, {}, H), 'original'],
      [make(fixture.landmarks, { pinvInit: 'exact' }, H), 'exact'],
      [conv, 'originalConv'],
      [make(n, {}, H), 'dense'],
    ];
    for (const [kernel, key] of cases) {
      const out = kernel.attend(q, k, v, ctx);
      expectTensorsClose(out, fixture[key], { atol: 1e-5, rtol: 1e-4 });
      out.dispose();
      kernel.dispose();
    }
    tf.dispose([q, k, v]);
  });
});

describeWithBackends('nystrom: gradients', () => {
  it('d(loss)/d(q, k, v) through landmarks, softmaxes and the iterative pinv, and d/d(conv weight), match finite differences', () => {
    const rng = new Rng(5);
    const [q, k, v, w] = [0, 1, 2, 3].map(() => rng.normalTensor([1, 2, 6, 3]));
    const f = (a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(nystromAttention(a, b, c, { landmarks: 3, pinvIterations: 6, pinvInit: 'original' }, 0.5), w)) as tf.Scalar;
    expect(gradCheck(f, [q, k, v], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    const cw = rng.normalTensor([2, 3]);
    const g = (c: Tensor, wt: Tensor) => tf.sum(tf.mul(depthwiseSequenceConv(c, wt), w)) as tf.Scalar;
    expect(gradCheck(g, [v, cw], { eps: 1e-2, atol: 3e-2, rtol: 3e-2 }).maxAbsError).toBeLessThan(3e-2);
    tf.dispose([q, k, v, w, cw]);
  });
});

describe('package', () => {
  it('VERSION equals package.json version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });
});
