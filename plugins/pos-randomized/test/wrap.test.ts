import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, definePlugin, positional, Rng, tf, type PositionalEncoding, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeForwardContext, positionalConformance } from '@weft/core/testing';
import { standard } from '@weft/nn';
import rope from '@weft/pos-rope';
import randomized, { RANDOMIZED_POSITIONS, RandomizedEncoding, samplePositions } from '@weft/pos-randomized';

const B = 2, L = 6, D = 8, H = 2, Dh = 4, LMAX = 40;

/** A test-only bias encoding: bias[i, j] = −|i − j| (a stand-in for any bias-hook encoding). */
const distance = definePlugin({
  name: '@weft/test-distance',
  version: '0.0.0',
  provides: [
    positional('distance', {
      capabilities: { embed: false, rotate: false, bias: true },
      create: (): PositionalEncoding => ({
        bias: (qp: Tensor, kp: Tensor) => tf.tidy(() => tf.expandDims(tf.neg(tf.abs(tf.sub(tf.cast(qp.expandDims(2), 'float32'), tf.cast(kp.expandDims(1), 'float32')))), 1)),
      }),
    }),
  ],
});
const registry = () => createRegistry().use(standard, rope, distance, randomized);
const make = (inner: object, extra: object = {}) =>
  registry().create('positional', { kind: 'randomized', inner, maxLength: LMAX, ...extra }, { dims: { dModel: D, heads: H, headDim: Dh } }) as RandomizedEncoding;

/** Naive interleaved sin/cos (sin at even dims) at position p. */
function sincos(p: number, dim: number): number[] {
  return Array.from({ length: dim }, (_, d) => {
    const angle = p * Math.pow(10000, -(2 * Math.floor(d / 2)) / dim);
    return d % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
  });
}
/** Naive RoPE (interleaved planes) of one head vector at position p. */
function ropeVec(x: ArrayLike<number>, p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length / 2; i++) {
    const a = p * Math.pow(10000, (-2 * i) / x.length);
    out.push(x[2 * i] * Math.cos(a) - x[2 * i + 1] * Math.sin(a), x[2 * i] * Math.sin(a) + x[2 * i + 1] * Math.cos(a));
  }
  return out;
}

positionalConformance('randomized(sinusoidal)', () => make({ kind: 'sinusoidal' }), { heads: H, headDim: Dh, dModel: D });
positionalConformance('randomized(rope)', () => make({ kind: 'rope' }), { heads: H, headDim: Dh, dModel: D });
positionalConformance('randomized(bias)', () => make({ kind: 'distance' }), { heads: H, headDim: Dh, dModel: D });

describeWithBackends('randomized wraps the inner encoding', () => {
  const rng = new Rng(3);
  /** A training context whose rng is seeded `seed`, and the positions it will draw. */
  const trainingCtx = (seed: number) => {
    const ctx = makeForwardContext(B, L, { training: true, rng: new Rng(seed) });
    const expected = samplePositions(new Rng(new Rng(seed).nextUint32()), L, LMAX);
    return { ctx, expected };
  };

  it('exposes exactly the inner hooks', () => {
    const hooks = (e: RandomizedEncoding) => [e.embed, e.rotate, e.bias, e.logitScale].map(Boolean);
    expect(hooks(make({ kind: 'sinusoidal' }))).toEqual([true, false, false, false]);
    expect(hooks(make({ kind: 'rope' }))).toEqual([false, true, false, false]);
    expect(hooks(make({ kind: 'distance' }))).toEqual([false, false, true, false]);
  });

  it('sinusoidal: embed(x) = x + PE(s_t) at the sampled positions (naive table)', () => {
    // scale 1: the full-scale table of Vaswani et al. (nn's default scales it by D^-1/2).
    const enc = make({ kind: 'sinusoidal', scale: 1 });
    const { ctx, expected } = trainingCtx(11);
    const x = rng.normalTensor([B, L, D]);
    const y = enc.embed!(x, ctx.positions, ctx);
    const xs = x.dataSync();
    const ref = Array.from(xs, (v, idx) => v + sincos(expected[Math.floor(idx / D) % L], D)[idx % D]);
    expectTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-5 });
    expect(ctx.scratch.get(RANDOMIZED_POSITIONS)).toEqual(expected);
    expect(expected).not.toEqual([0, 1, 2, 3, 4, 5]);
    tf.dispose([x, y, ctx.positions]);
  });

  it('rope: rotate(q, k) rotates token t by s_t (naive rotation), and q·k depends on s_i − s_j', () => {
    const enc = make({ kind: 'rope' });
    const { ctx, expected } = trainingCtx(12);
    const q = rng.normalTensor([B, H, L, Dh]);
    const k = rng.normalTensor([B, H, L, Dh]);
    const [q2, k2] = enc.rotate!(q, k, ctx.positions, ctx.positions, ctx);
    for (const [inp, out] of [[q, q2], [k, k2]] as const) {
      const data = inp.dataSync();
      const ref: number[] = [];
      for (let row = 0; row < B * H * L; row++) ref.push(...ropeVec(data.subarray(row * Dh, (row + 1) * Dh), expected[row % L]));
      expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
    }
    tf.dispose([q, k, q2, k2, ctx.positions]);
  });

  it('bias: the inner bias at the sampled positions, −|s_i − s_j|', () => {
    const enc = make({ kind: 'distance' });
    const { ctx, expected } = trainingCtx(13);
    const b = enc.bias!(ctx.positions, ctx.positions, ctx);
    const ref: number[] = [];
    for (let bb = 0; bb < B; bb++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) ref.push(-Math.abs(expected[i] - expected[j]));
    expectTensorsClose(b, ref, { atol: 0 });
    tf.dispose([b, ctx.positions]);
  });

  it('one draw per forward: every hook and tile of a forward sees the same positions; the next forward draws anew', () => {
    const enc = make({ kind: 'distance' });
    const ctx = makeForwardContext(1, L, { training: true, rng: new Rng(4) });
    const whole = enc.bias!(ctx.positions, ctx.positions, ctx);
    const tile = tf.tidy(() => enc.bias!(ctx.positions.slice([0, 2], [1, 3]), ctx.positions.slice([0, 0], [1, 4]), ctx));
    expectTensorsClose(tile, tf.tidy(() => whole.slice([0, 0, 2, 0], [1, 1, 3, 4])), { atol: 0 });
    const first = ctx.scratch.get(RANDOMIZED_POSITIONS);
    const next = { ...ctx, scratch: new Map<string, unknown>() };
    const again = enc.bias!(ctx.positions, ctx.positions, next);
    expect(next.scratch.get(RANDOMIZED_POSITIONS)).not.toEqual(first);
    tf.dispose([whole, tile, again, ctx.positions]);
  });

  it('deterministic per seed', () => {
    const enc = make({ kind: 'sinusoidal' });
    const x = rng.normalTensor([B, L, D]);
    const run = (seed: number) => {
      const ctx = makeForwardContext(B, L, { training: true, rng: new Rng(seed) });
      const y = enc.embed!(x, ctx.positions, ctx);
      const out = Array.from(y.dataSync());
      tf.dispose([y, ctx.positions]);
      return out;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    x.dispose();
  });

  it("eval with evalPositions 'contiguous' is the inner encoding at 0..n−1; 'sampled' (default) keeps sampling", () => {
    const x = rng.normalTensor([B, L, D]);
    const ctx = makeForwardContext(B, L, { training: false, rng: new Rng(9) });
    const inner = registry().create('positional', { kind: 'sinusoidal' }, { dims: { dModel: D } });
    const [a, b, c] = [make({ kind: 'sinusoidal' }, { evalPositions: 'contiguous' }).embed!(x, ctx.positions, ctx), inner.embed!(x, ctx.positions, ctx), make({ kind: 'sinusoidal' }).embed!(x, ctx.positions, { ...ctx, scratch: new Map() })];
    expectTensorsClose(a, b, { atol: 0 });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(c, b))).dataSync()[0])).toBeGreaterThan(1e-2);
    tf.dispose([x, a, b, c, ctx.positions]);
  });
});

// Produced by tools/parity/pos-randomized.py (PyTorch port, float64); s is an explicit input.
const fx = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'randomized.json'), 'utf8'));

describeWithBackends('randomized parity with the PyTorch port (injected positions)', () => {
  const { B: b, n, D: d, H: h, Dh: dh, maxLength } = fx.dims;
  const ctxWith = () => {
    const ctx = makeForwardContext(b, n, { training: true });
    ctx.scratch.set(RANDOMIZED_POSITIONS, fx.positions);
    return ctx;
  };
  const create = (inner: object) => registry().create('positional', { kind: 'randomized', inner, maxLength }, { dims: { dModel: d, heads: h, headDim: dh } }) as RandomizedEncoding;

  it('sin/cos at the sampled positions matches', () => {
    const ctx = ctxWith();
    const x = tf.tensor3d(fx.x, [b, n, d]);
    const y = create({ kind: 'sinusoidal', scale: 1 }).embed!(x, ctx.positions, ctx);
    expectTensorsClose(y, fx.sinusoidal, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([x, y, ctx.positions]);
  });

  it('RoPE at the sampled positions matches', () => {
    const ctx = ctxWith();
    const [q, k] = [tf.tensor4d(fx.q, [b, h, n, dh]), tf.tensor4d(fx.k, [b, h, n, dh])];
    const [q2, k2] = create({ kind: 'rope' }).rotate!(q, k, ctx.positions, ctx.positions, ctx);
    expectTensorsClose(q2, fx.ropeQ, { atol: 1e-5, rtol: 1e-5 });
    expectTensorsClose(k2, fx.ropeK, { atol: 1e-5, rtol: 1e-5 });
    tf.dispose([q, k, q2, k2, ctx.positions]);
  });
});
