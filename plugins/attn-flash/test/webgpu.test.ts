/**
 * The WebGPU FlashAttention kernels (src/kernels/webgpu) on Dawn in Node (SwiftShader where
 * there is no GPU): the forward output and the gradients for q, k, v equal a dense softmax
 * attention written with plain ops in test/helpers.ts and run on the cpu backend, for causal,
 * bidirectional, key padding, segments, GQA, decode (Lq != Lk with queryOffset), unequal
 * head widths, Dh = Dv = 128, and lengths that are not multiples of the tiles. Where no adapter
 * exists the suite says why and is skipped; WEFT_REQUIRE_WEBGPU=1 makes it fail instead.
 */
import '@weft/core/node';
import { BackendError, Rng, tf, useBackend, type AttentionContext, type Tensor } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';
import { backwardKVShared } from '../src/kernels/webgpu/FlashBackwardKVProgram.js';
import { backwardQShared } from '../src/kernels/webgpu/FlashBackwardQProgram.js';
import { forwardShared } from '../src/kernels/webgpu/FlashForwardProgram.js';
import { chooseTiles } from '../src/kernels/webgpu/program.js';
import { makePlan } from '../src/plan.js';
import { biasFn, ctx, denseAttention, makeKernel, weightedSum } from './helpers.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

let available = false;

beforeAll(async () => {
  try {
    await useBackend('webgpu');
    available = true;
  } catch (e) {
    if (process.env.WEFT_REQUIRE_WEBGPU === '1' || !BackendError.isInstance(e)) throw e;
    console.warn(`WebGPU flash tests skipped: ${(e as Error).message}`);
  }
}, 60000);

afterAll(() => useBackend('cpu'));

interface Dims {
  B: number;
  H: number;
  Hkv?: number;
  Lq: number;
  Lk: number;
  Dh: number;
  Dv?: number;
}

/** Context tensors are built per backend from these host arrays. */
interface MaskData {
  keep?: number[]; // [B, Lk]
  qSeg?: number[]; // [B, Lq]
  kSeg?: number[]; // [B, Lk]
}

interface Case {
  name: string;
  dims: Dims;
  causal: boolean;
  queryOffset?: number;
  masks?: MaskData;
  allowed?: (b: number, i: number, j: number) => boolean;
}

const keep = (b: number, j: number) => (b === 0 ? j < 13 : j >= 3 && j !== 9);
/** Causal padding that leaves every query a key (fully masked rows: see the last test). */
const keepCausal = (b: number, j: number) => (b === 0 ? j < 13 : j !== 2 && j !== 9);
const seg = (b: number, i: number) => (i < 7 + b ? 1 : 2);
const range = (n: number, f: (x: number) => number) => Array.from({ length: n }, (_, x) => f(x));

// SwiftShader spends seconds compiling each shader variant (head widths × masks), so the
// cases share variants: every causal case (and the later tests) compiles for Dh = Dv = 128
// with padding and segments (all-keep / one-segment masks where a case needs neither), and
// B = 2, H = 4, Hkv = 2 (tfjs's shader key also depends on which input axes broadcast).
const CASES: Case[] = [
  {
    name: 'causal, key padding, segments, GQA (H = 4, Hkv = 2), Dh = Dv = 128',
    dims: { B: 2, H: 4, Hkv: 2, Lq: 19, Lk: 19, Dh: 128 },
    causal: true,
    queryOffset: 0,
    masks: {
      keep: range(2 * 19, (x) => (keepCausal(Math.floor(x / 19), x % 19) ? 1 : 0)),
      qSeg: range(2 * 19, (x) => seg(Math.floor(x / 19), x % 19)),
      kSeg: range(2 * 19, (x) => seg(Math.floor(x / 19), x % 19)),
    },
    allowed: (b, i, j) => keepCausal(b, j) && seg(b, i) === seg(b, j),
  },
  {
    name: 'bidirectional, key padding, Lq != Lk, Dv != Dh',
    dims: { B: 2, H: 2, Lq: 7, Lk: 19, Dh: 8, Dv: 12 },
    causal: false,
    masks: { keep: range(2 * 19, (x) => (keep(Math.floor(x / 19), x % 19) ? 1 : 0)) },
    allowed: (b, _i, j) => keep(b, j),
  },
  {
    name: 'causal GQA decode, several key tiles (Lq = 5, Lk = 70, queryOffset 65)',
    dims: { B: 2, H: 4, Hkv: 2, Lq: 5, Lk: 70, Dh: 128 },
    causal: true,
    queryOffset: 65,
    masks: { keep: range(140, (x) => (x % 70 === 40 ? 0 : 1)), qSeg: range(10, () => 3), kSeg: range(140, () => 3) },
    allowed: (_b, _i, j) => j !== 40,
  },
];

function tensors(seed: number, d: Dims) {
  const rng = new Rng(seed);
  const Hkv = d.Hkv ?? d.H;
  const Dv = d.Dv ?? d.Dh;
  return {
    q: rng.normalArray(d.B * d.H * d.Lq * d.Dh),
    k: rng.normalArray(d.B * Hkv * d.Lk * d.Dh),
    v: rng.normalArray(d.B * Hkv * d.Lk * Dv),
    w: rng.normalArray(d.B * d.H * d.Lq * Dv),
  };
}

function contextOf(c: Case, scale: number): Partial<AttentionContext> {
  const { B, Lq, Lk } = c.dims;
  const m = c.masks ?? {};
  return {
    causal: c.causal,
    scale,
    queryOffset: c.queryOffset,
    keyPaddingMask: m.keep ? tf.tensor2d(m.keep, [B, Lk]) : undefined,
    querySegmentIds: m.qSeg ? tf.tensor2d(m.qSeg, [B, Lq], 'int32') : undefined,
    keySegmentIds: m.kSeg ? tf.tensor2d(m.kSeg, [B, Lk], 'int32') : undefined,
  };
}

function ctxTensors(c: Partial<AttentionContext>): Tensor[] {
  return [c.keyPaddingMask, c.querySegmentIds, c.keySegmentIds].filter((t): t is Tensor => t != null);
}

/** Output and d(Σ w ∘ out)/d(q, k, v) as host arrays. */
async function run(
  f: (q: Tensor, k: Tensor, v: Tensor) => Tensor,
  data: ReturnType<typeof tensors>,
  d: Dims,
): Promise<{ out: Float32Array; grads: Float32Array[]; leaked: number }> {
  const Hkv = d.Hkv ?? d.H;
  const Dv = d.Dv ?? d.Dh;
  const q = tf.tensor4d(data.q, [d.B, d.H, d.Lq, d.Dh]);
  const k = tf.tensor4d(data.k, [d.B, Hkv, d.Lk, d.Dh]);
  const v = tf.tensor4d(data.v, [d.B, Hkv, d.Lk, Dv]);
  const w = tf.tensor4d(data.w, [d.B, d.H, d.Lq, Dv]);
  const before = tf.memory().numTensors;
  const out = f(q, k, v);
  const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => weightedSum(f(a, b, c), w))([q, k, v]);
  const leaked = tf.memory().numTensors - before - 4; // the output and the three gradients remain
  const result = { out: (await out.data()) as Float32Array, grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)), leaked };
  tf.dispose([q, k, v, w, out, ...grads]);
  return result;
}

describe('flash attention, webgpu kernels == dense attention (cpu)', () => {
  for (const [n, c] of CASES.entries()) {
    it(c.name, async () => {
      if (!available) return;
      const scale = 1 / Math.sqrt(c.dims.Dh);
      const data = tensors(100 + n, c.dims);

      await useBackend('cpu');
      const dense = await run((q, k, v) => denseAttention(q, k, v, { scale, causal: c.causal, queryOffset: c.queryOffset, allowed: c.allowed }), data, c.dims);

      await useBackend('webgpu');
      const kernel = makeKernel({ implementation: 'webgpu' });
      const partial = contextOf(c, scale);
      const gpu = await run((q, k, v) => kernel.attend(q, k, v, ctx(partial)), data, c.dims);
      tf.dispose(ctxTensors(partial));

      expect(gpu.leaked).toBe(0);
      expectTensorsClose(gpu.out, dense.out, TOL);
      gpu.grads.forEach((g, i) => expectTensorsClose(g, dense.grads[i], TOL));
    }, 30000);
  }

  it("'auto' runs the three WGSL kernels on webgpu; a logit bias or a per-head scale falls back to tiled", async () => {
    if (!available) return;
    await useBackend('webgpu');
    const data = tensors(7, { B: 2, H: 4, Hkv: 2, Lq: 6, Lk: 6, Dh: 128 });
    const q = tf.tensor4d(data.q, [2, 4, 6, 128]);
    const [k, v] = [data.k, data.v].map((x) => tf.tensor4d(x, [2, 2, 6, 128]));
    const masks = { keyPaddingMask: tf.ones([2, 6]), querySegmentIds: tf.zeros([2, 6], 'int32'), keySegmentIds: tf.zeros([2, 6], 'int32') };
    const kernel = makeKernel();
    const c = ctx({ causal: true, queryOffset: 0, ...masks });
    expect(kernel.implementation(makePlan(q, k, v, c, kernel.options))).toBe('webgpu');
    const engine = tf.engine();
    const names = new Set<string>();
    const runKernel = engine.runKernel.bind(engine);
    const spy = jest.spyOn(engine, 'runKernel').mockImplementation((name, ...rest) => {
      names.add(name);
      return runKernel(name, ...rest);
    });
    try {
      tf.dispose(tf.grads((a: Tensor, b: Tensor, d: Tensor) => tf.sum(kernel.attend(a, b, d, c)))([q, k, v]));
    } finally {
      spy.mockRestore();
    }
    for (const name of ['WeftFlashAttentionForward', 'WeftFlashAttentionBackwardQ', 'WeftFlashAttentionBackwardKV']) expect(names).toContain(name);

    // (the tiled path itself is tested on every backend by the other files)
    const withBias = ctx({ causal: true, queryOffset: 0, logitBias: biasFn(4).lazy });
    expect(kernel.implementation(makePlan(q, k, v, withBias, kernel.options))).toBe('tiled');
    const perHead = tf.tensor1d([0.3, 0.6, 0.9, 1.2]);
    expect(kernel.implementation(makePlan(q, k, v, ctx({ causal: true, queryOffset: 0, scale: perHead }), kernel.options))).toBe('tiled');
    tf.dispose([q, k, v, perHead, ...Object.values(masks)]);
  }, 30000);

  it("implementation 'webgpu' on another backend names the backend and the fix", async () => {
    await useBackend('cpu');
    const q = tf.zeros([1, 1, 2, 4]);
    const kernel = makeKernel({ implementation: 'webgpu' });
    expect(() => kernel.attend(q, q, q, ctx({ causal: true, queryOffset: 0 }))).toThrow(/implementation 'webgpu' needs the webgpu backend, but the backend is 'cpu'; call useBackend\('webgpu'\)/);
    q.dispose();
  });

  it('a fully masked query row outputs 0 with lse +inf (flash-attn convention)', async () => {
    if (!available) return;
    await useBackend('webgpu');
    const data = tensors(9, { B: 2, H: 4, Hkv: 2, Lq: 3, Lk: 3, Dh: 128 });
    const q = tf.tensor4d(data.q, [2, 4, 3, 128]);
    const [k, v] = [data.k, data.v].map((x) => tf.tensor4d(x, [2, 2, 3, 128]));
    const mask = tf.tensor2d([[0, 1, 1], [1, 1, 1]]); // key 0 of batch 0 is padding: its query 0 (causal) sees nothing
    const segments = tf.zeros([2, 3], 'int32');
    const kernel = makeKernel({ implementation: 'webgpu' });
    const c = ctx({ causal: true, scale: 0.1, queryOffset: 0, keyPaddingMask: mask, querySegmentIds: segments, keySegmentIds: segments });
    const { out, lse } = kernel.attendWithLse(q, k, v, c);
    const o = await out.data();
    const l = await lse.data();
    // [b, h, i]: query 0 of batch 0 in every head; every other row sees a key
    for (let h = 0; h < 4; h++) {
      expect(Array.from(o.slice(h * 3 * 128, h * 3 * 128 + 128))).toEqual(new Array(128).fill(0));
      expect(l[h * 3]).toBe(Infinity);
    }
    expect(Array.from(l).filter((x) => x === Infinity)).toHaveLength(4);
    tf.dispose([q, k, v, mask, segments, out, lse]);
  });

  it("heads of width 128 fit WebGPU's guaranteed 16 KiB of workgroup memory in all three programs", () => {
    for (const shared of [forwardShared, backwardQShared, backwardKVShared]) {
      const tiles = chooseTiles(shared(128, 128), 16384);
      expect(tiles).not.toBeNull();
      expect(shared(128, 128)(tiles!.R, tiles!.C) * 4).toBeLessThanOrEqual(16384);
    }
    expect(chooseTiles(forwardShared(1024, 1024), 16384)).toBeNull();
  });
});
