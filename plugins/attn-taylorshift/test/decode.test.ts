/**
 * Constant-memory decoding: attendStep from the kernel state equals the causal parallel forward
 * (the Taylor-Softmax loop reference in naive.ts, and attend in both forms), with grouped
 * key/value heads; the state size is constant and follows 4·B·Hkv·(1 + d + d²)·(1 + Dv).
 */
import { Rng, ShapeError, StateError, tf, type LayerState, type Tensor } from '@weft/core';
import { describeWithBackends, expectTensorsClose, makeAttentionContext } from '@weft/core/testing';
import { TaylorShiftAttention, taylorShiftStateBytes, type TaylorShiftSettings } from '@weft/attn-taylorshift';
import { naiveTaylor } from './naive.js';

const B = 2, H = 4, Hkv = 2, L = 9, D = 4;
const make = (settings: Partial<TaylorShiftSettings> = {}) => new TaylorShiftAttention({ normalizeInput: true, ...settings }, H, new Rng(0));
const dims = { heads: H, kvHeads: Hkv, headDim: D, layerIndex: 0 };
const rows = (x: Tensor, s: number, n: number) => tf.slice(x, [0, 0, s, 0], [-1, -1, n, -1]);
/** K, V [B, Hkv, L, D] repeated to the query heads (head h reads group ⌊h / (H/Hkv)⌋), as plain arrays. */
const expand = (x: Tensor): Float32Array => {
  const a = x.dataSync();
  const out = new Float32Array(B * H * L * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) out.set(a.subarray((b * Hkv + Math.floor(h / (H / Hkv))) * L * D, (b * Hkv + Math.floor(h / (H / Hkv)) + 1) * L * D), (b * H + h) * L * D);
  return out;
};
// 4·B·Hkv·F·(1 + Dv) with F = 1 + 4 + 16 = 21: 4 · 2 · 2 · 21 · 5.
const STATE_BYTES = 1680;

describeWithBackends('taylorshift decoding from the kernel state', () => {
  const rng = new Rng(5);
  let q: Tensor, k: Tensor, v: Tensor;
  const temps = [0.6, 1.0, 1.7, 2.4];
  beforeAll(() => {
    q = rng.normalTensor([B, H, L, D]);
    [k, v] = [0, 1].map(() => rng.normalTensor([B, Hkv, L, D]));
  });
  afterAll(() => tf.dispose([q, k, v]));

  /** Feed the tokens in steps of the given sizes; returns the concatenated outputs and the state bytes after each step. */
  function decode(kernel: TaylorShiftAttention, sizes: number[], scale: number): { out: Tensor; bytes: number[] } {
    let state: LayerState = kernel.initState(B, dims);
    const bytes = [state.bytes()];
    const parts: Tensor[] = [];
    let s = 0;
    for (const n of sizes) {
      const inputs = [q, k, v].map((x) => rows(x, s, n));
      const [o, next] = kernel.attendStep(inputs[0], inputs[1], inputs[2], state, makeAttentionContext({ causal: true, scale }));
      tf.dispose(inputs);
      parts.push(o);
      state = next;
      bytes.push(state.bytes());
      s += n;
    }
    state.dispose();
    const out = tf.concat(parts, 2);
    tf.dispose(parts);
    return { out, bytes };
  }

  for (const [label, settings, scale] of [
    ['normalizeInput, per-head temperatures', { normalizeInput: true }, 0.5],
    ['normalizeInput: false, the mixer scale', { normalizeInput: false }, 0.4],
    ['chunk 2 inside a step', { normalizeInput: true, chunk: 2 }, 0.5],
  ] as const) {
    it(`${label}: steps of 4, 3, 1, 1 equal the loop reference and attend (direct and efficient) with 2 query heads per kv head; constant state; no leaks`, () => {
      const kernel = make(settings);
      const setTemps = (m: TaylorShiftAttention) => tf.tidy(() => m.temperature?.assign(tf.tensor1d(temps)));
      setTemps(kernel);
      const before = tf.memory().numTensors;
      const { out, bytes } = decode(kernel, [4, 3, 1, 1], scale);
      expect(out.shape).toEqual([B, H, L, D]);
      expect(bytes).toEqual(bytes.map(() => STATE_BYTES));
      expect(taylorShiftStateBytes(B, Hkv, D)).toBe(STATE_BYTES);
      const ref = naiveTaylor(q.dataSync(), expand(k), expand(v), { B, H, L, D }, { causal: true, ...(kernel.temperature ? { temperature: temps } : { scale }) });
      expectTensorsClose(out, ref, { atol: 1e-4, rtol: 1e-4 });
      for (const crossover of [0, 1000]) {
        const parallel = make({ ...settings, crossover });
        setTemps(parallel);
        const full = parallel.attend(q, k, v, makeAttentionContext({ causal: true, scale }));
        expectTensorsClose(out, full.dataSync(), { atol: 1e-4, rtol: 1e-4 });
        tf.dispose(full);
        parallel.dispose();
      }
      out.dispose();
      expect(tf.memory().numTensors).toBe(before);
      kernel.dispose();
    });
  }

  it('one token at a time for 9 tokens equals one 9-token step (the state carries everything)', () => {
    const kernel = make();
    const a = decode(kernel, [9], 0.5);
    const b = decode(kernel, Array.from({ length: 9 }, () => 1), 0.5);
    expectTensorsClose(b.out, a.out.dataSync(), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([a.out, b.out]);
    kernel.dispose();
  });
});

describe('taylorshift decoding: refused inputs say what is wrong and how to fix it', () => {
  const kernel = make();
  const [q, k] = [tf.zeros([B, H, 1, D]), tf.zeros([B, Hkv, 1, D])];
  afterAll(() => {
    tf.dispose([q, k]);
    kernel.dispose();
  });
  const causal = makeAttentionContext({ causal: true, scale: 1 });

  it('a state not made by initState', () => {
    const foreign: LayerState = { bytes: () => 0, dispose: () => undefined };
    expect(() => kernel.attendStep(q, k, k, foreign, causal)).toThrow(StateError as never);
    expect(() => kernel.attendStep(q, k, k, foreign, causal)).toThrow(/needs the state from this kernel's initState \(a TaylorShiftState\); create the cache with model\.initCache/);
  });

  it('a state of another batch size or head layout', () => {
    const state = kernel.initState(3, dims);
    expect(() => kernel.attendStep(q, k, k, state, causal)).toThrow(/the state holds S \[3,2,21,5\] .* \(expected S \[2,2,21,5\]\); the state belongs to another batch size or layer/);
    state.dispose();
    expect(() => kernel.initState(B, { ...dims, heads: 8 })).toThrow(/built for 4 query heads, asked for a state of 8 query heads/);
  });

  it('a non-causal step', () => {
    const state = kernel.initState(B, dims);
    expect(() => kernel.attendStep(q, k, k, state, makeAttentionContext({ causal: false, scale: 1 }))).toThrow(ShapeError as never);
    expect(() => kernel.attendStep(q, k, k, state, makeAttentionContext({ causal: false, scale: 1 }))).toThrow(/attendStep decodes causally \(ctx\.causal is false\); a bidirectional model has no decoding state/);
    state.dispose();
  });
});
