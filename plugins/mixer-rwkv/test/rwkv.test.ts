import { ConfigError, createRegistry, IncompatibleError, Rng, tf, useBackend } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, mixerConformance } from '@weft/core/testing';
import rwkv, { RwkvMixer, VERSION } from '../src/index.js';

const registry = createRegistry().use(rwkv);
const make = (dModel: number, opts: Record<string, unknown> = {}, seed = 1) =>
  registry.create('mixer', { kind: 'rwkv', ...opts }, { dims: { dModel, layers: 2 }, rng: new Rng(seed), layerIndex: 1 }) as RwkvMixer;

mixerConformance('rwkv', () => make(8, { ffnMult: 2 }), { causal: true, decode: true }, { dModel: 8, L: 10 });
mixerConformance('rwkv (time-mix only)', () => make(8, { channelMix: false }), { causal: true, decode: true }, { dModel: 8, L: 10 });

describeWithBackends('rwkv mixer', () => {
  it('RNN mode (step, several tokens per call) == parallel mode', () => {
    const [B, L, D] = [2, 9, 6];
    const m = make(D, {}, 3);
    const x = new Rng(4).normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L);
    const full = m.forward(x, ctx);
    let state = m.initState(B);
    const parts: tf.Tensor[] = [];
    for (const [s, n] of [[0, 4], [4, 1], [5, 4]]) {
      const xs = tf.slice(x, [0, s, 0], [B, n, D]);
      const [y, next] = m.step(xs, state, { training: false, rng: new Rng(0), layerIndex: 0, positions: ctx.positions, scratch: new Map() });
      state = next;
      parts.push(y);
      xs.dispose();
    }
    const stepped = tf.concat(parts, 1);
    expectTensorsClose(stepped, full, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x, full, stepped, ...parts, ctx.positions]);
    state.dispose();
    m.dispose();
  });

  it('packed segments give the same outputs as running each sequence on its own', () => {
    const [L, D] = [9, 4];
    const m = make(D, { ffnMult: 2 }, 5);
    const x = new Rng(6).normalTensor([1, L, D]);
    const seg = tf.tensor([[0, 0, 0, 1, 1, 1, 1, 2, 2]], [1, L], 'int32');
    const ctx = makeForwardContext(1, L, { segmentIds: seg });
    const packed = m.forward(x, ctx);
    const pieces = [[0, 3], [3, 4], [7, 2]].map(([s, n]) =>
      tf.tidy(() => {
        const c = makeForwardContext(1, n);
        const y = m.forward(tf.slice(x, [0, s, 0], [1, n, D]), c);
        c.positions.dispose();
        return y;
      }),
    );
    const separate = tf.concat(pieces, 1);
    expectTensorsClose(packed, separate, { atol: 1e-5, rtol: 1e-5 });
    // and the ids matter: without them the later segments see earlier tokens
    const ctx0 = makeForwardContext(1, L);
    const unpacked = m.forward(x, ctx0);
    expect(tf.max(tf.abs(tf.sub(unpacked, separate))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, seg, packed, separate, unpacked, ...pieces, ctx.positions, ctx0.positions]);
    m.dispose();
  });
});

describe('parameters and init', () => {
  beforeAll(() => useBackend('cpu'));
  it('uses RWKV-4 parameter names and layer-dependent init', () => {
    const m = make(4);
    const sd = m.stateDict();
    expect(Object.keys(sd).sort()).toEqual(
      [
        'att.key.weight', 'att.output.weight', 'att.receptance.weight', 'att.time_decay', 'att.time_first', 'att.time_mix_k', 'att.time_mix_r', 'att.time_mix_v', 'att.value.weight',
        'ffn.key.weight', 'ffn.receptance.weight', 'ffn.time_mix_k', 'ffn.time_mix_r', 'ffn.value.weight', 'ln2.bias', 'ln2.weight',
      ].sort(),
    );
    expect(sd['ffn.key.weight'].shape).toEqual([4, 16]); // ffnMult 4
    // layer 1 of 2: ratio_0_to_1 = 1 -> decay_speed = -5 + 8 (h / (D-1))^2
    expectTensorsClose(sd['att.time_decay'], [-5, -5 + 8 / 9, -5 + 32 / 9, 3], { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(sd['att.time_first'], [0, 0.5, -0.5, 0].map((z) => Math.log(0.3) + z), { atol: 1e-6, rtol: 1e-6 });
    m.dispose();
  });
});

describe('config and compatibility errors', () => {
  it('names the field, the value and the fix', () => {
    expect(() => registry.validate('mixer', { kind: 'rwkv', ffnMult: -1 }, 'mixer')).toThrow(/mixer\.ffnMult: ffnMult must be > 0.*use 4 for RWKV-4.*got -1/s);
    expect(() => registry.validate('mixer', { kind: 'rwkv', channelMix: 'yes' }, 'mixer')).toThrow(/mixer\.channelMix: channelMix must be true or false.*got "yes"/s);
    expect(() => registry.validate('mixer', { kind: 'rwkv', ffn_mult: 2 }, 'mixer')).toThrow(/mixer\.ffn_mult: mixer "rwkv" has no option "ffn_mult" \(options: ffnMult, channelMix\)/);
    try {
      registry.validate('mixer', { kind: 'rwkv', ffnMult: 0 }, 'mixer');
      throw new Error('unreachable');
    } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
    }
  });

  it('refuses a bidirectional model', () => {
    const cfg = registry.validate('mixer', { kind: 'rwkv' }, 'layout[0].mixer');
    expect(() => registry.check('mixer', cfg, { path: 'layout[0].mixer', causal: false })).toThrow(/layout\[0\]\.mixer: mixer "rwkv" is a causal recurrence.*Use it in a causal-lm model/);
    try {
      registry.check('mixer', cfg, { path: 'm', causal: false });
      throw new Error('unreachable');
    } catch (e) {
      expect(IncompatibleError.isInstance(e)).toBe(true);
    }
  });

  it('exports the package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../package.json').version);
    expect(rwkv.version).toBe(VERSION);
  });
});
