import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend, type SequenceMixer } from '@weft/core';
import { describeWithBackends, expectTensorsClose, gradCheck, makeForwardContext, mixerConformance } from '@weft/core/testing';
import minrnn, { MinGRU, MinLSTM, VERSION } from '../src/index.js';
import { naiveMinRnn, type CellWeights } from './reference.js';

const registry = createRegistry().use(minrnn);
const make = (kind: 'mingru' | 'minlstm', dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind, ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as MinGRU | MinLSTM;

/** Read the module's weights into plain arrays for the naive reference. */
function weightsOf(m: SequenceMixer): CellWeights {
  const sd = (m as MinGRU).stateDict();
  const gates: CellWeights['gates'] = {};
  for (const name of ['linear_z', 'linear_h', 'linear_f', 'linear_i']) {
    if (sd[`${name}.weight`]) gates[name] = { W: sd[`${name}.weight`].dataSync() as Float32Array, b: sd[`${name}.bias`]?.dataSync() as Float32Array | undefined };
  }
  return { gates, out: sd['out.weight'].dataSync() as Float32Array };
}

for (const kind of ['mingru', 'minlstm'] as const) {
  describeWithBackends(`${kind}`, () => {
    mixerConformance(kind, () => make(kind, 8, { expansion: 2}), { causal: true, decode: true }, { dModel: 8, L: 10 });

    it('parallel log-space forward == the sequential recurrence written from the paper (naive loops)', () => {
      const [B, L, D] = [2, 19, 6];
      const m = make(kind, D, { expansion: 1.5}, 3);
      const xs = new Rng(4).normalArray(B * L * D, 0, 2);
      const x = tf.tensor(xs, [B, L, D]);
      const ctx = makeForwardContext(B, L);
      const y = m.forward(x, ctx);
      expectTensorsClose(y, naiveMinRnn(kind, xs, B, L, D, m.hidden, weightsOf(m)), { atol: 4e-6, rtol: 1e-5 });
      tf.dispose([x, y, ctx.positions]);
      m.dispose();
    });

    it('resets its state at segment-id boundaries (packed sequences)', () => {
      const [B, L, D] = [2, 9, 4];
      const m = make(kind, D, {}, 5);
      const xs = new Rng(6).normalArray(B * L * D);
      const segments = [
        [0, 0, 0, 1, 1, 1, 1, 2, 2],
        [5, 5, 5, 5, 5, 5, 5, 5, 5],
      ];
      const x = tf.tensor(xs, [B, L, D]);
      const seg = tf.tensor(segments.flat(), [B, L], 'int32');
      const ctx = makeForwardContext(B, L, { segmentIds: seg });
      const y = m.forward(x, ctx);
      expectTensorsClose(y, naiveMinRnn(kind, xs, B, L, D, m.hidden, weightsOf(m), segments), { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([x, seg, y, ctx.positions]);
      m.dispose();
    });
  });
}

describe('long sequences and gradients', () => {
  beforeAll(() => useBackend('cpu'));

  it('is stable at L = 16384 (finite, matches the recurrence at several positions)', () => {
    const [B, L, D] = [1, 16384, 2];
    for (const kind of ['mingru', 'minlstm'] as const) {
      const m = make(kind, D, { expansion: 1}, 7);
      const xs = new Rng(8).normalArray(B * L * D, 0, 3);
      const x = tf.tensor(xs, [B, L, D]);
      const ctx = makeForwardContext(B, L);
      const y = m.forward(x, ctx);
      const got = y.dataSync();
      expect(got.every(Number.isFinite)).toBe(true);
      const ref = naiveMinRnn(kind, xs, B, L, D, m.hidden, weightsOf(m));
      for (const t of [0, 63, 64, 1000, 8191, 12345, L - 1]) {
        for (let d = 0; d < D; d++) expect(Math.abs(got[t * D + d] - ref[t * D + d])).toBeLessThan(1e-4 + 1e-4 * Math.abs(ref[t * D + d]));
      }
      tf.dispose([x, y, ctx.positions]);
      m.dispose();
    }
  });

  it.each(['mingru', 'minlstm'] as const)('%s: gradients wrt inputs and weights match finite differences', (kind) => {
    const m = make(kind, 3, { expansion: 1}, 9);
    const x = new Rng(10).normalTensor([1, 5, 3]);
    const w = new Rng(11).normalTensor([1, 5, 3]);
    const ctx = makeForwardContext(1, 5);
    const wz = (m as MinGRU).stateDict()['linear_h.weight'] as tf.Variable;
    const f = (xi: tf.Tensor, wi: tf.Tensor) => {
      const saved = wz.clone();
      (wz as tf.Variable).assign(wi);
      const out = tf.sum(tf.mul(m.forward(xi, ctx), w)) as tf.Scalar;
      (wz as tf.Variable).assign(saved);
      saved.dispose();
      return out;
    };
    // Inputs only through tf.grads (variables are captured, so check x and a weight copy separately).
    gradCheck((xi) => tf.sum(tf.mul(m.forward(xi, ctx), w)) as tf.Scalar, [x], { eps: 1e-2, atol: 2e-2, rtol: 2e-2 });
    const grads = tf.variableGrads(() => tf.sum(tf.mul(m.forward(x, ctx), w)) as tf.Scalar, [wz as tf.Variable]);
    const analytic = grads.grads[wz.name].dataSync();
    const base = wz.dataSync().slice();
    for (const i of [0, 4, 8]) {
      const at = (delta: number) => tf.tidy(() => {
        const v = base.slice();
        v[i] += delta;
        return f(x, tf.tensor(v, wz.shape)).dataSync()[0];
      });
      expect(Math.abs((at(1e-2) - at(-1e-2)) / 2e-2 - analytic[i])).toBeLessThan(2e-2);
    }
    tf.dispose([x, w, ctx.positions, grads.value, ...Object.values(grads.grads)]);
    m.dispose();
  });
});

describe('config and compatibility errors', () => {
  it('names the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'mingru', expansion: -1 }, 'mixer')).toThrow(/mixer\.expansion: expansion must be > 0.*use 1.*got -1/s);
    expect(() => registry.validate('mixer', { kind: 'minlstm', bias: 'yes' }, 'mixer')).toThrow(/mixer\.bias: bias must be true or false.*got "yes"/s);
    expect(() => registry.validate('mixer', { kind: 'mingru', expand: 2 }, 'mixer')).toThrow(/mixer\.expand: mixer "mingru" has no option "expand" \(options: expansion, bias\)/);
    try {
      registry.validate('mixer', { kind: 'mingru', expansion: 0 }, 'mixer');
    } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
    }
  });

  it('refuses a bidirectional model', () => {
    const cfg = registry.validate('mixer', { kind: 'mingru' }, 'layers[0].mixer');
    expect(() => registry.check('mixer', cfg, { path: 'layers[0].mixer', causal: false })).toThrow(/layers\[0\]\.mixer: mixer "mingru" is a causal recurrence.*Use it in a causal-lm model/);
    try {
      registry.check('mixer', cfg, { path: 'm', causal: false });
    } catch (e) {
      expect(IncompatibleError.isInstance(e)).toBe(true);
    }
  });

  it('exports the package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(minrnn.version).toBe(VERSION);
  });
});
