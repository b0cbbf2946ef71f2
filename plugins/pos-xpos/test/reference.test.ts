/** xPos equals the paper's formula written as a loop, and has its properties (§3.2–3.3). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DIMS, Rng, createRegistry, tf, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, positionalConformance } from '@weft/core/testing';
import xposPlugin, { XPosEncoding, type XPosParams } from '../src/index.js';

/** f_q / f_k from eq. 9, pair by pair, float64: rotate plane i by p·θ_i, scale by ζ_i^(±(p − c)/γ). */
function naiveXPos(x: ArrayLike<number>, shape: number[], positions: ArrayLike<number>, p: XPosParams, sign: 1 | -1): Float64Array {
  const [B, H, L, D] = shape;
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let l = 0; l < L; l++) {
        const n = positions[b * L + l];
        const row = ((b * H + h) * L + l) * D;
        for (let i = 0; i < D / 2; i++) {
          const theta = Math.pow(p.base, (-2 * i) / D);
          const zeta = (2 * i + p.gamma * D) / ((1 + p.gamma) * D);
          const g = Math.pow(zeta, (sign * (n - p.centre)) / p.scaleBase);
          const [ia, ib] = p.layout === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + D / 2];
          out[row + ia] = g * (x[row + ia] * Math.cos(n * theta) - x[row + ib] * Math.sin(n * theta));
          out[row + ib] = g * (x[row + ia] * Math.sin(n * theta) + x[row + ib] * Math.cos(n * theta));
        }
      }
  return out;
}

const params = (o: Partial<XPosParams> = {}): XPosParams => ({ headDim: 8, base: 10000, scaleBase: 512, gamma: 0.4, centre: 10, layout: 'interleaved', ...o });

describeWithBackends('pos-xpos', () => {
  const rng = new Rng(3);

  for (const layout of ['interleaved', 'half-split'] as const) {
    it(`${layout}: equals the naive formula (GQA shapes, different q/k positions)`, () => {
      const p = params({ layout, scaleBase: 32, centre: 7 });
      const enc = new XPosEncoding(p);
      const q = rng.normalTensor([2, 4, 3, 8]);
      const k = rng.normalTensor([2, 2, 5, 8]);
      const qPos = tf.tensor2d([[10, 11, 12], [40, 41, 42]], [2, 3], 'int32');
      const kPos = tf.tensor2d([[0, 3, 6, 9, 12], [30, 35, 40, 41, 42]], [2, 5], 'int32');
      const [q2, k2] = enc.rotate(q, k, qPos, kPos);
      expectTensorsClose(q2, naiveXPos(q.dataSync(), [2, 4, 3, 8], qPos.dataSync(), p, 1), { atol: 1e-5, rtol: 1e-4 });
      expectTensorsClose(k2, naiveXPos(k.dataSync(), [2, 2, 5, 8], kPos.dataSync(), p, -1), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([q, k, qPos, kPos, q2, k2]);
    });
  }

  it('scores depend only on n − m: shifting all positions (and changing the centre) leaves them unchanged', () => {
    const q = rng.normalTensor([1, 2, 6, 8]);
    const k = rng.normalTensor([1, 2, 6, 8]);
    const scores = (offset: number, centre: number): Tensor =>
      tf.tidy(() => {
        const enc = new XPosEncoding(params({ scaleBase: 64, centre }));
        const pos = tf.add(tf.range(0, 6, 1, 'int32'), offset).reshape([1, 6]);
        const [qr, kr] = enc.rotate(q, k, pos, pos);
        return tf.matMul(qr, kr, false, true);
      });
    const s0 = scores(0, 3);
    const s1 = scores(50, 3);
    const s2 = scores(0, 40);
    expectTensorsClose(s1, s0, { atol: 1e-4, rtol: 1e-4 });
    expectTensorsClose(s2, s0, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([q, k, s0, s1, s2]);
  });

  it('decay: the score of a vector with itself shrinks monotonically with distance, as ζ_i^(Δ/γ) cos(Δθ_i)', () => {
    // q = k = e_{2i} on the slowest plane i = d/2 − 1 (θ_i ≈ 1e-3), so cos(Δθ_i) ≈ 1 and the decay shows.
    const p = params({ scaleBase: 16, centre: 0 });
    const enc = new XPosEncoding(p);
    const i = 3;
    const e = tf.tidy(() => tf.oneHot(tf.tensor1d([2 * i], 'int32'), 8).reshape([1, 1, 1, 8]));
    const L = 41;
    const q = tf.tidy(() => tf.tile(e, [1, 1, L, 1]));
    const pos = tf.range(0, L, 1, 'int32').reshape([1, L]);
    const [qr, kr] = enc.rotate(q, q, pos, pos);
    const row = tf.tidy(() => tf.matMul(qr, kr, false, true).slice([0, 0, L - 1, 0], [1, 1, 1, L]).reshape([L]));
    const s = Array.from(row.dataSync()).reverse(); // s[Δ] = score(n = L−1, m = L−1−Δ)
    const zeta = (2 * i + 0.4 * 8) / (1.4 * 8);
    const theta = Math.pow(10000, (-2 * i) / 8);
    s.forEach((v, delta) => expect(v).toBeCloseTo(Math.pow(zeta, delta / 16) * Math.cos(delta * theta), 5));
    for (let d = 1; d < L; d++) expect(s[d]).toBeLessThan(s[d - 1]);
    expect(s[L - 1]).toBeLessThan(0.7 * s[0]); // ζ_3^(40/16) ≈ 0.61
    tf.dispose([e, q, pos, qr, kr, row]);
  });

  it('parity with the PyTorch (torchscale-convention) port: rotated q, k and the scores', () => {
    const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'xpos.json'), 'utf8'));
    const [B, H, L, D] = fx.shape as number[];
    const registry = createRegistry().use(xposPlugin);
    const enc = registry.create('positional', { kind: 'xpos', centre: fx.centre, scaleBase: fx.scaleBase }, { dims: { ...DEFAULT_DIMS, headDim: D } });
    const q = tf.tensor(fx.q, [B, H, L, D]);
    const k = tf.tensor(fx.k, [B, H, L, D]);
    const pos = tf.tidy(() => tf.tile(tf.range(0, L, 1, 'int32').reshape([1, L]), [B, 1]));
    const [q2, k2] = enc.rotate!(q, k, pos, pos, undefined as never);
    expectTensorsClose(q2, fx.qOut, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(k2, fx.kOut, { atol: 1e-5, rtol: 1e-5 });
    const scores = tf.matMul(q2, k2, false, true);
    expectTensorsClose(scores, fx.scores, { atol: 1e-4, rtol: 1e-5 });
    tf.dispose([q, k, pos, q2, k2, scores]);
  });

  const registry = createRegistry().use(xposPlugin);
  const dims = { heads: 2, headDim: 8, dModel: 16 };
  positionalConformance('xpos', () => registry.create('positional', { kind: 'xpos' }, { dims: { ...DEFAULT_DIMS, ...dims } }), dims);
});
