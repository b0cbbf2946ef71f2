import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, IncompatibleError, Rng, tf, useBackend, type Batch } from '@weft/core';
import { describeWithBackends, expectNoLeaks, expectTensorsClose, gradCheck, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type EncoderClassifier } from '@weft/nn';
import fnet, { fourierMix, VERSION, type FNetMixer } from '../src/index.js';

const registry = createRegistry().use(fnet);
const make = () => registry.create('mixer', { kind: 'fnet' }) as FNetMixer;

/** Re(F_L X F_d) summed term by term with complex exponentials, float64 (FNet Eq. 3). */
function naiveFnet(x: ArrayLike<number>, B: number, L: number, d: number): Float64Array {
  const y = new Float64Array(B * L * d);
  for (let b = 0; b < B; b++)
    for (let p = 0; p < L; p++)
      for (let q = 0; q < d; q++) {
        let re = 0;
        for (let l = 0; l < L; l++)
          for (let j = 0; j < d; j++) re += x[(b * L + l) * d + j] * Math.cos(-2 * Math.PI * (p * l / L + q * j / d)); // Re(x e^{−2πi(pl/L + qj/d)})
        y[(b * L + p) * d + q] = re;
      }
  return y;
}

mixerConformance('fnet', make, { causal: false, decode: false }, { dModel: 8, L: 10 });

describeWithBackends('fnet mixing', () => {
  it.each([[1, 1, 1], [2, 7, 5], [1, 16, 12]])('equals Re(F_L X F_d) written naively (B %i, L %i, d %i)', (B, L, d) => {
    const xs = new Rng(L * d).normalArray(B * L * d);
    const x = tf.tensor(xs, [B, L, d]);
    const ctx = makeForwardContext(B, L, { causal: false });
    const y = make().forward(x, ctx);
    expectTensorsClose(y, naiveFnet(xs, B, L, d), { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([x, y, ctx.positions]);
  });

  it('matches torch.fft.fftn(x, dim=(-2, -1)).real (parity fixture)', () => {
    const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'fnet.json'), 'utf8'));
    const x = tf.tensor(fx.x, [fx.B, fx.L, fx.D]);
    const y = fourierMix(x);
    expectTensorsClose(y, fx.y, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([x, y]);
  });
});

describe('properties', () => {
  beforeAll(() => useBackend('cpu'));
  const [L, d] = [8, 6];
  const rows = (t: tf.Tensor) => {
    const a = (t.arraySync() as number[][][])[0];
    t.dispose();
    return a;
  };

  it('is not permutation-equivariant: permuting tokens does not just permute the outputs (unlike attention without positions)', () => {
    const x = new Rng(1).normalTensor([1, L, d]);
    const perm = [3, 0, 7, 1, 6, 2, 5, 4];
    const xp = tf.gather(x, perm, 1);
    const [y, yp] = [fourierMix(x), fourierMix(xp)];
    const permuted = tf.gather(y, perm, 1);
    expect(tf.max(tf.abs(tf.sub(yp, permuted))).dataSync()[0]).toBeGreaterThan(1e-2);
    tf.dispose([x, xp, y, yp, permuted]);
  });

  it('shift theorem: rolling the sequence by L/2 multiplies output row p by (−1)^p', () => {
    const x = new Rng(2).normalTensor([1, L, d]);
    const rolled = tf.concat([tf.slice(x, [0, L / 2, 0], [1, L / 2, d]), tf.slice(x, [0, 0, 0], [1, L / 2, d])], 1);
    const [y, yr] = [rows(fourierMix(x)), rows(fourierMix(rolled))];
    for (let p = 0; p < L; p++) for (let q = 0; q < d; q++) expect(yr[p][q]).toBeCloseTo((p % 2 ? -1 : 1) * y[p][q], 4);
    tf.dispose([x, rolled]);
  });

  it('Hermitian symmetry of a real input: y[−p, −q] = y[p, q]; row 0, column 0 = sum over the sequence, hidden', () => {
    const xs = new Rng(3).normalArray(L * d);
    const x = tf.tensor(xs, [1, L, d]);
    const y = rows(fourierMix(x));
    for (let p = 0; p < L; p++) for (let q = 0; q < d; q++) expect(y[(L - p) % L][(d - q) % d]).toBeCloseTo(y[p][q], 4);
    expect(y[0][0]).toBeCloseTo(xs.reduce((a, b) => a + b, 0), 4);
    x.dispose();
  });

  it('has no parameters and finite-difference gradients', () => {
    expect(make().parameters().length).toBe(0);
    const x = new Rng(4).normalTensor([1, 4, 3]);
    const g = new Rng(5).normalTensor([1, 4, 3]);
    gradCheck((v) => tf.sum(tf.mul(fourierMix(v), g)) as tf.Scalar, [x], { eps: 1e-2, atol: 1e-2, rtol: 1e-2 });
    tf.dispose([x, g]);
  });
});

describe('in models', () => {
  beforeAll(() => useBackend('wasm'));

  it('trains in an encoder classifier (task: "classifier"), without leaking', async () => {
    const model = buildModel(createRegistry().use(standard).use(fnet), {
      task: 'classifier', classes: 2, vocab: 8, dModel: 16, layers: 1, mixer: { kind: 'fnet' }, postNorm: true, seed: 1,
    }) as unknown as EncoderClassifier;
    const opt = tf.train.adam(0.03);
    const rng = new Rng(2);
    const losses: number[] = [];
    // label: does token 7 occur in the sequence?
    const batch = (): Batch => {
      const seqs = Array.from({ length: 16 }, () => Array.from({ length: 8 }, () => rng.int(7)));
      const labels = seqs.map((s, i) => {
        if (i % 2 === 0) return 0;
        s[rng.int(8)] = 7;
        return 1;
      });
      return { inputs: tf.tensor(seqs.flat(), [16, 8], 'int32'), targets: tf.tensor(labels, [16], 'int32') };
    };
    await expectNoLeaks(() => {
      const b = batch();
      const loss = opt.minimize(() => model.loss(b, { training: true, rng }) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.inputs, b.targets]);
    }, 30);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.6 * losses[0]);
    opt.dispose();
    model.dispose();
  });

  it('is refused in a causal LM, with the fix', () => {
    const reg = createRegistry().use(standard).use(fnet);
    const cfg = { vocab: 8, dModel: 16, layers: 2, layout: [null, { mixer: { kind: 'fnet' } }] };
    expect(() => buildModel(reg, cfg)).toThrow(/layout\[1\]\.mixer: mixer "fnet" is not causal .*causal LM\. Use it in an encoder \(task: "classifier"\)/);
    try {
      buildModel(reg, cfg);
    } catch (e) {
      expect(IncompatibleError.isInstance(e)).toBe(true);
    }
    expect(() => reg.validate('mixer', { kind: 'fnet', fft: 'xla' }, 'mixer')).toThrow(/mixer\.fft: mixer "fnet" has no option "fft" \(options: none\)/);
  });

  it('exports the package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(fnet.version).toBe(VERSION);
  });
});
