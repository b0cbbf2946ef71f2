/** The memory's size is constant in the number of segments; no tensor leaks; config errors. */
import { ConfigError, Rng, tf, useBackend } from '@weft/core';
import { expectNoLeaks, leakedTensors } from '@weft/core/testing';
import { RmtMemory, RmtState } from '../src/index.js';
import { build, ids, registry } from './helpers.js';

const base = { vocab: 10, dModel: 16, layers: 1, heads: 2, seed: 2, segmentLength: 3 };

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('memory-rmt state and leaks', () => {
  beforeAll(() => useBackend('cpu'));

  it('installs as the memory kind "rmt" with the paper defaults', () => {
    expect(registry.kinds('memory')).toContain('rmt');
    expect(registry.validate('memory', { kind: 'rmt' })).toEqual({ kind: 'rmt', tokens: 10 });
  });

  it('holds exactly m memory vectors per sequence, however many segments have passed', () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 4 } });
    const mem = model.memory as RmtMemory;
    const B = 2;
    let state = mem.init(B);
    const sizes: number[] = [];
    const before = tf.memory().numTensors;
    for (let s = 0; s < 6; s++) {
      const x = tf.randomNormal([B, 3, 16]);
      const h = mem.read(x, state, {} as never); // [B, 4 + 3 + 4, D]
      expect(h.shape).toEqual([B, 11, 16]);
      const [y, next] = mem.write(h, state, {} as never);
      expect(y.shape).toEqual([B, 3, 16]);
      state = next;
      expect((state as RmtState).memory!.shape).toEqual([B, 4, 16]);
      sizes.push(state.bytes());
      tf.dispose([x, h, y]);
    }
    expect(new Set(sizes)).toEqual(new Set([B * 4 * 16 * 4]));
    expect(tf.memory().numTensors - before).toBe(1); // only the current memory is held
    state.dispose();
    model.dispose();
  });

  it('a forward leaks no tensors, and neither do training steps', async () => {
    const model = build({ ...base, memory: { kind: 'rmt', tokens: 2, bpttSegments: 2 } });
    const x = ids([[1, 2, 3, 4, 5, 6, 7, 8, 9, 1]]);
    model.forward(x).dispose(); // warm-up
    expect(leakedTensors(() => model.forward(x).dispose())).toBe(0);
    const opt = tf.train.adam(1e-3);
    const batch = { inputs: x, targets: ids([[2, 3, 4, 5, 6, 7, 8, 9, 1, 2]]) };
    await expectNoLeaks((i) => {
      opt.minimize(() => model.loss(batch, { training: true, rng: new Rng(i) }) as tf.Scalar);
    }, 4);
    opt.dispose();
    model.dispose();
  });

  it('rejects a negative memory size with the field, the value and the fix', () => {
    const e = thrown(() => registry.validate('memory', { kind: 'rmt', tokens: -2 }, 'memory'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('memory.tokens');
    expect(e.message).toContain('-2');
    expect(e.message).toContain('whole number >= 0');
  });

  it('rejects bpttSegments: 0 with the field, the value and the fix', () => {
    const e = thrown(() => registry.validate('memory', { kind: 'rmt', bpttSegments: 0 }, 'memory'));
    expect(e.message).toContain('memory.bpttSegments');
    expect(e.message).toContain('0');
    expect(e.message).toContain('omit it for full BPTT');
  });

  it('a memory without segmentLength is refused at config time', () => {
    const e = thrown(() => build({ vocab: 10, dModel: 16, layers: 1, heads: 2, memory: { kind: 'rmt', tokens: 2 } }));
    expect(e.message).toContain('segmentLength');
  });

  it('builds through the registry with an explicit rng', () => {
    const m = new RmtMemory({ tokens: 3 }, { vocab: 4, dModel: 8, heads: 2, headDim: 4, layers: 1, maxLen: 16 }, new Rng(1));
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['memory', [1, 3, 8]]]);
    m.dispose();
  });
});
