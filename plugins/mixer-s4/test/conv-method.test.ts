/**
 * Option `conv`: the matmul-FFT and the Toeplitz long convolution (@weft/nn longConv) are the
 * same linear map, so the whole mixer gives the same outputs and parameter gradients with either.
 */
import { createRegistry, Rng, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import s4, { type S4Mixer } from '../src/index.js';

const registry = createRegistry().use(standard).use(s4);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 's4', d_state: 6, ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as S4Mixer;

mixerConformance('s4 (conv: fft)', () => make(8, { conv: 'fft' }), { causal: true, decode: true }, { dModel: 8, L: 9 });

describeWithBackends('s4 option conv', () => {
  it("'fft' and 'toeplitz' give the same mixer output and parameter gradients", () => {
    const [B, L, D] = [2, 40, 6];
    const [fft, toe] = [make(D, { conv: 'fft' }, 7), make(D, { conv: 'toeplitz' }, 7)];
    expect(fft.kernel.conv).toBe('fft'); // the option reaches the convolution
    const u = new Rng(11).normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const run = (m: S4Mixer) => {
      const vars = m.parameters();
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.forward(u, ctx))) as tf.Scalar, vars);
      const y = m.forward(u, ctx);
      const g = vars.map((v) => grads[v.name]!);
      value.dispose();
      return { y, g };
    };
    const [a, b] = [run(fft), run(toe)];
    expectTensorsClose(a.y, b.y, { atol: 1e-4, rtol: 1e-4 });
    a.g.forEach((g, i) => expectTensorsClose(g, b.g[i]!, { atol: 1e-3, rtol: 1e-3 }));
    tf.dispose([u, ctx.positions, a.y, b.y, ...a.g, ...b.g]);
    fft.dispose();
    toe.dispose();
  });

  it("defaults to 'auto' and names an unknown method", () => {
    const m = make(4);
    expect(m.kernel.conv).toBe('auto');
    m.dispose();
    expect(() => buildModel(registry, { vocab: 8, dModel: 8, layers: 1, positional: 'none', mixer: { kind: 's4', conv: 'fast' } })).toThrow(/conv must be 'auto', 'fft' or 'toeplitz'/);
  });
});
