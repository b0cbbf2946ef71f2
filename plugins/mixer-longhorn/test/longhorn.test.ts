import { createRegistry, IncompatibleError, Rng, ShapeError, tf, useBackend } from '@weft/core';
import { expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import longhorn, { crossesSegment, VERSION, type LonghornMixer } from '../src/index.js';

const registry = createRegistry().use(standard).use(longhorn);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'longhorn', ...opts }, { dims: { dModel } as never, rng: new Rng(seed) }) as LonghornMixer;

mixerConformance('longhorn', () => make(8, { d_state: 4 }), { causal: true, decode: true }, { dModel: 8, L: 9 });
mixerConformance('longhorn (d_conv 2, dt_rank 3, no conv bias)', () => make(8, { d_state: 3, d_conv: 2, dt_rank: 3, conv_bias: false, expand: 1 }), { causal: true, decode: true }, { dModel: 8, L: 7 });

describe('longhorn block', () => {
  beforeAll(() => useBackend('cpu'));

  it('segment ids reset conv and state: a packed row == its sequences run separately (and differs without the ids)', () => {
    const m = make(8, { d_state: 4 }, 3);
    const L = 10;
    const x = new Rng(9).normalTensor([2, L, 8]);
    const ids = [
      [0, 0, 0, 0, 1, 1, 1, 1, 1, 1], // boundary at 4
      [5, 5, 7, 7, 7, 7, 7, 2, 2, 2], // boundaries at 2 and 7 (ids need not be sorted)
    ];
    const segmentIds = tf.tensor(ids.flat(), [2, L], 'int32');
    const packed = m.forward(x, makeForwardContext(2, L, { segmentIds }));
    const pieces: tf.Tensor[] = [];
    for (let b = 0; b < 2; b++) {
      const row: tf.Tensor[] = [];
      for (let s = 0; s < L; ) {
        let e = s;
        while (e < L && ids[b][e] === ids[b][s]) e++;
        const part = tf.slice(x, [b, s, 0], [1, e - s, 8]);
        const ctx = makeForwardContext(1, e - s);
        row.push(m.forward(part, ctx));
        tf.dispose([part, ctx.positions]);
        s = e;
      }
      pieces.push(tf.concat(row, 1));
      tf.dispose(row);
    }
    const separate = tf.concat(pieces, 0);
    expectTensorsClose(packed, separate, { atol: 1e-5, rtol: 1e-5 });
    const leaky = m.forward(x, makeForwardContext(2, L));
    const diff = tf.max(tf.abs(tf.sub(leaky, separate))).dataSync()[0];
    expect(diff).toBeGreaterThan(1e-3);
    tf.dispose([x, segmentIds, packed, separate, leaky, ...pieces]);
    m.dispose();
  });

  it('crossesSegment marks t where token t − lag belongs to another sequence', () => {
    const ids = tf.tensor([[0, 0, 1, 1, 1, 2]], [1, 6], 'int32');
    expect(Array.from(crossesSegment(ids, 1).dataSync())).toEqual([0, 0, 1, 0, 0, 1]);
    expect(Array.from(crossesSegment(ids, 2).dataSync())).toEqual([0, 0, 1, 1, 0, 1]);
    expect(Array.from(crossesSegment(ids, 9).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    ids.dispose();
  });

  it('forwardSegment carries conv window and state: segments of 4 + 3 + 3 == the whole sequence', () => {
    const m = make(8, { d_state: 4 }, 4);
    const x = new Rng(10).normalTensor([2, 10, 8]);
    const full = m.forward(x, makeForwardContext(2, 10));
    let state = m.initState(2);
    const outs: tf.Tensor[] = [];
    for (const [s, n] of [[0, 4], [4, 3], [7, 3]]) {
      const part = tf.slice(x, [0, s, 0], [2, n, 8]);
      const ctx = makeForwardContext(2, n);
      const [y, next] = m.forwardSegment(part, state, ctx);
      outs.push(y);
      state = next;
      tf.dispose([part, ctx.positions]);
    }
    const joined = tf.concat(outs, 1);
    expectTensorsClose(joined, full, { atol: 1e-5, rtol: 1e-5 });
    const ctx = makeForwardContext(2, 10, { segmentIds: tf.zeros([2, 10], 'int32') });
    const unused = m.initState(2);
    expect(() => m.forwardSegment(x, unused, ctx)).toThrow(ShapeError);
    unused.dispose();
    tf.dispose([x, full, joined, ...outs, ctx.positions, ctx.segmentIds!]);
    state.dispose();
    m.dispose();
  });

  it('a model with segmentLength (forwardSegment per layer) gives the same logits as one pass', () => {
    const cfg = { vocab: 10, dModel: 16, layers: 2, positional: 'none', mixer: { kind: 'longhorn', d_state: 4 }, seed: 3 } as const;
    const whole = buildModel(registry, cfg) as CausalLM;
    const segmented = buildModel(registry, { ...cfg, segmentLength: 4 }) as CausalLM;
    const ids = tf.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 0]], [1, 10], 'int32');
    const a = whole.forward(ids);
    const b = segmented.forward(ids);
    expectTensorsClose(b, a, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([ids, a, b]);
    whole.dispose();
    segmented.dispose();
  });

  it('a hybrid [longhorn, attention] model decodes with mixed states (step == forward)', () => {
    const model = buildModel(registry, { vocab: 10, dModel: 16, layers: 2, heads: 2, layout: [{ mixer: { kind: 'longhorn', d_state: 4 } }, null], seed: 3 }) as CausalLM;
    const ids = tf.tensor([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    const logits = model.forward(ids);
    const cache = model.initCache(1);
    const stepped = tf.concat([model.step(tf.slice(ids, [0, 0], [1, 3]), cache), model.step(tf.slice(ids, [0, 3], [1, 2]), cache)], 1);
    expectTensorsClose(stepped, logits, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([ids, logits, stepped]);
    cache.dispose();
    model.dispose();
  });

  it('defaults follow the reference: d_inner = 2D, dt_rank = ceil(D/16), d_state 16, d_conv 4, D = 1, dt_head bias 0; no A, no Δ', () => {
    const m = make(40);
    expect([m.dInner, m.dtRank, m.dState, m.dConv]).toEqual([80, 3, 16, 4]);
    expect(Array.from(m.D.dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(m.dt_head.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(m.namedParameters().map(([n]) => n).sort()).toEqual(
      ['D', 'conv1d_bias', 'conv1d_weight', 'dt_head.bias', 'dt_head.weight', 'in_proj.weight', 'out_proj.weight', 'x_proj.weight'].sort(),
    );
    m.dispose();
  });
});

describe('config and compatibility errors', () => {
  it('name the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'longhorn', d_state: 0 }, 'mixer')).toThrow(/mixer\.d_state: d_state must be >= 1.*got 0/s);
    expect(() => registry.validate('mixer', { kind: 'longhorn', d_conv: 1 }, 'mixer')).toThrow(/mixer\.d_conv: d_conv must be >= 2.*got 1/s);
    expect(() => registry.validate('mixer', { kind: 'longhorn', expand: 1.5 }, 'mixer')).toThrow(/mixer\.expand: expand must be a whole number.*got 1\.5/s);
    expect(() => registry.validate('mixer', { kind: 'longhorn', dt_rank: 'big' }, 'mixer')).toThrow(/mixer\.dt_rank: dt_rank must be 'auto'.*got "big"/s);
    expect(() => registry.validate('mixer', { kind: 'longhorn', dt_min: 0.01 }, 'mixer')).toThrow(/mixer\.dt_min: mixer "longhorn" has no option "dt_min"/);
    expect(() => registry.validate('mixer', { kind: 'longhorn', dstate: 8 }, 'mixer')).toThrow(/has no option "dstate".*Did you mean "d_state"/s);
  });

  it('refuse a bidirectional model at config time', () => {
    const cfg = registry.validate('mixer', { kind: 'longhorn' }, 'm');
    let err: unknown;
    try {
      registry.check('mixer', cfg, { path: 'layers[1].mixer', causal: false });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/layers\[1\]\.mixer: mixer "longhorn" is a causal recurrence.*Use it in a causal-lm model/);
  });

  it('declares its capabilities (causal, decode, segments; no padding) and exports the package version', () => {
    expect(registry.capabilities('mixer', registry.validate('mixer', 'longhorn'))).toEqual({ causal: true, bidirectional: false, decode: true, segments: true, padding: false });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(longhorn.version).toBe(VERSION);
  });
});
