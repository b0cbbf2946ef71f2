import { createRegistry, DEFAULT_DIMS, tf } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, positionalConformance, leakedTensors } from '@weft/core/testing';
import alibi, { AlibiBias } from '@weft/pos-alibi';

const SLOPES_4 = [1 / 4, 1 / 16, 1 / 64, 1 / 256];

/** Naive bias: -m_h |qPos[b,i] - kPos[b,j]| with loops. */
function naiveBias(qPos: number[][], kPos: number[][], slopes: number[]): Float32Array {
  const B = qPos.length;
  const H = slopes.length;
  const Lq = qPos[0].length;
  const Lk = kPos[0].length;
  const out = new Float32Array(B * H * Lq * Lk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Lq; i++)
        for (let j = 0; j < Lk; j++) out[((b * H + h) * Lq + i) * Lk + j] = -slopes[h] * Math.abs(qPos[b][i] - kPos[b][j]);
  return out;
}

const int2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

describeWithBackends('ALiBi bias', () => {
  it('equals the naive formula, per batch row, on an arbitrary tile', () => {
    const enc = new AlibiBias(4);
    // Row 1 restarts positions (packed sequences): bias follows the positions, not indices.
    const qPos = [[3, 4, 5], [0, 1, 2]];
    const kPos = [[0, 1, 2, 3, 4, 5, 6], [5, 6, 7, 0, 1, 2, 3]];
    const [q, k] = [int2d(qPos), int2d(kPos)];
    const bias = enc.bias(q, k);
    expect(bias.shape).toEqual([2, 4, 3, 7]);
    expect(bias.dtype).toBe('float32');
    expectTensorsClose(bias, naiveBias(qPos, kPos, SLOPES_4), { atol: 1e-7, rtol: 1e-7 });
    tf.dispose([q, k, bias]);
  });

  it('depends only on i - j (relative position invariance)', () => {
    const enc = new AlibiBias(6);
    const shifts = [0, 17, 1000];
    const biases = shifts.map((s) => tf.tidy(() => enc.bias(tf.range(s, s + 9, 1, 'int32').expandDims(0), tf.range(s, s + 9, 1, 'int32').expandDims(0))));
    const base = biases[0].arraySync() as number[][][][];
    for (const b of biases.slice(1)) expectTensorsClose(b, biases[0], { atol: 0, rtol: 0 });
    // Within one matrix, every diagonal (fixed i - j) is constant.
    for (let h = 0; h < 6; h++)
      for (let i = 1; i < 9; i++) for (let j = 1; j < 9; j++) expect(base[0][h][i][j]).toBe(base[0][h][i - 1][j - 1]);
    tf.dispose(biases);
  });

  it('is defined at any length: a far tile of a 4096-token sequence matches the formula (sampled) and only the tile is allocated', () => {
    const enc = new AlibiBias(4);
    const qRange = [4000, 4096];
    const kRange = [0, 4096];
    const q = tf.range(qRange[0], qRange[1], 1, 'int32').expandDims(0);
    const k = tf.range(kRange[0], kRange[1], 1, 'int32').expandDims(0);
    const before = tf.memory().numBytes;
    const bias = enc.bias(q, k);
    expect(tf.memory().numBytes - before).toBe(4 * 4 * 96 * 4096); // the tile itself, nothing else kept
    expect(bias.shape).toEqual([1, 4, 96, 4096]);
    const data = bias.dataSync();
    for (let s = 0; s < 200; s++) {
      const h = s % 4;
      const i = (s * 37) % 96;
      const j = (s * 1543) % 4096;
      expect(data[(h * 96 + i) * 4096 + j]).toBeCloseTo(-SLOPES_4[h] * Math.abs(qRange[0] + i - j), 3);
    }
    // The farthest pair: distance 4095 at the smallest slope.
    expect(data[(3 * 96 + 95) * 4096 + 0]).toBeCloseTo(-4095 / 256, 5);
    tf.dispose([q, k, bias]);
  });

  it('leaks nothing', () => {
    const enc = new AlibiBias(8);
    const ctx = makeForwardContext(2, 5);
    const leaked = leakedTensors(() => enc.bias(ctx.positions, ctx.positions).dispose());
    expect(leaked).toBe(0);
    ctx.positions.dispose();
  });

  it('the registry builds it with the model head count; it has no options', () => {
    const registry = createRegistry().use(alibi);
    const enc = registry.create('positional', { kind: 'alibi' }, { dims: { ...DEFAULT_DIMS, heads: 6 } }) as AlibiBias;
    expect(enc.slopes).toEqual([1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]);
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 'alibi' }))).toEqual({ embed: false, rotate: false, bias: true, perLayer: false });
    expect(() => registry.validate('positional', { kind: 'alibi', slope: 0.5 }, 'positional')).toThrow(
      'positional.slope: positional "alibi" has no option "slope" (options: none).',
    );
  });

  positionalConformance('alibi', () => new AlibiBias(4), { heads: 4, headDim: 8, dModel: 32 });
});

