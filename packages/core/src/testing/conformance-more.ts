/**
 * Conformance suites for the remaining module slots: head layouts, feed-forward layers,
 * norms, KV caches and token reducers. Like the others, each runs on cpu and wasm.
 */
import { tf } from '../tfjs.js';
import type { FeedForward, HeadLayout, KVCache, KVCacheFactory, Norm, TokenReducer } from '../slots.js';
import { Rng } from '../rng.js';
import { describeWithBackends } from './backends.js';
import { expectTensorsClose } from './close.js';
import { makeForwardContext } from './conformance.js';

function countsCreated(fn: () => tf.TensorContainer, created: number): void {
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  expect(tf.memory().numTensors - before).toBe(created);
  tf.dispose(out);
}

export function headLayoutConformance(name: string, make: () => HeadLayout, options: { dModel: number; B?: number; L?: number }): void {
  const { dModel, B = 2, L = 5 } = options;
  describeWithBackends(`${name}: head layout conformance`, () => {
    it('projects [B, L, D] to q [B, H, L, Dh] and k, v [B, Hkv, L, Dh], merges back to [B, L, D], without leaks', () => {
      const heads = make();
      expect(heads.heads % heads.kvHeads).toBe(0);
      const x = new Rng(1).normalTensor([B, L, dModel]);
      const ctx = makeForwardContext(B, L);
      const { q, k, v } = heads.project(x, ctx);
      expect(q.shape).toEqual([B, heads.heads, L, heads.headDim]);
      expect(k.shape).toEqual([B, heads.kvHeads, L, heads.headDim]);
      expect(v.shape.slice(0, 3)).toEqual([B, heads.kvHeads, L]);
      const y = heads.output(q, ctx);
      expect(y.shape).toEqual([B, L, dModel]);
      tf.dispose([q, k, v, y]);
      countsCreated(() => {
        const p = heads.project(x, ctx);
        return [p.q, p.k, p.v];
      }, 3);
      tf.dispose([x, ctx.positions]);
      heads.dispose();
    });
  });
}

export function feedForwardConformance(name: string, make: () => FeedForward, options: { dModel: number; positionWise?: boolean }): void {
  const { dModel, positionWise = true } = options;
  describeWithBackends(`${name}: feed-forward conformance`, () => {
    it('keeps [B, L, D], is finite and leak-free' + (positionWise ? ', and acts on each position independently' : ''), () => {
      const ff = make();
      const x = new Rng(2).normalTensor([2, 6, dModel]);
      const ctx = makeForwardContext(2, 6);
      const y = ff.forward(x, ctx);
      expect(y.shape).toEqual([2, 6, dModel]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      countsCreated(() => ff.forward(x, ctx), 1);
      if (positionWise) {
        const reversed = tf.reverse(x, 1);
        const yr = ff.forward(reversed, ctx);
        expectTensorsClose(tf.reverse(yr, 1), y, { atol: 1e-5, rtol: 1e-5 });
        tf.dispose([reversed, yr]);
      }
      tf.dispose([x, y, ctx.positions]);
      ff.dispose();
    });
  });
}

export function normConformance(name: string, make: () => Norm, options: { dModel: number }): void {
  describeWithBackends(`${name}: norm conformance`, () => {
    it('keeps the shape, is invariant to a positive rescaling of each vector (at init), leak-free', () => {
      const norm = make();
      const x = new Rng(3).normalTensor([2, 4, options.dModel]);
      const y = norm.forward(x);
      expect(y.shape).toEqual(x.shape);
      const scaled = tf.mul(x, 3.5);
      const ys = norm.forward(scaled);
      expectTensorsClose(ys, y, { atol: 1e-4, rtol: 1e-4 });
      countsCreated(() => norm.forward(x), 1);
      tf.dispose([x, y, scaled, ys]);
      norm.dispose();
    });
  });
}

/** For lossless caches (lossy: false): everything appended is returned, in order. */
export function kvCacheConformance(name: string, make: () => KVCacheFactory, options: { lossy: boolean; kvHeads?: number; headDim?: number }): void {
  const { kvHeads = 2, headDim = 4 } = options;
  describeWithBackends(`${name}: KV cache conformance`, () => {
    it('appends, reports length and bytes, returns [B, Hkv, Lc, Dh], and frees everything on dispose', () => {
      const before = tf.memory().numTensors;
      const cache: KVCache = make().create(2, { kvHeads, headDim, layerIndex: 0 });
      expect(cache.length).toBe(0);
      const rng = new Rng(4);
      const chunks = [3, 1, 1].map((T, i) => ({
        k: rng.normalTensor([2, kvHeads, T, headDim]),
        v: rng.normalTensor([2, kvHeads, T, headDim]),
        p: tf.tidy(() => tf.add(tf.zeros([2, T], 'int32'), tf.range(i === 0 ? 0 : 2 + i, (i === 0 ? 0 : 2 + i) + T, 1, 'int32'))),
      }));
      for (const c of chunks) cache.append(c.k, c.v, c.p);
      const keys = cache.keys();
      expect(keys.shape.slice(0, 2)).toEqual([2, kvHeads]);
      expect(keys.shape[3]).toBe(headDim);
      expect(cache.values().shape).toEqual(keys.shape);
      expect(cache.positions().shape).toEqual([2, keys.shape[2]]);
      expect(cache.length).toBe(keys.shape[2]);
      expect(cache.bytes()).toBeGreaterThan(0);
      if (!options.lossy) {
        expect(cache.length).toBe(5);
        const expected = tf.concat(chunks.map((c) => c.k), 2);
        expectTensorsClose(keys, expected, { atol: 0 });
        expected.dispose();
      }
      tf.dispose(chunks.flatMap((c) => [c.k, c.v, c.p]));
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

export function reducerConformance(name: string, make: () => TokenReducer, options: { dModel: number; causal: boolean; L?: number }): void {
  const { dModel, L = 8 } = options;
  describeWithBackends(`${name}: reducer conformance`, () => {
    it('shortens to [B, L\', D] with L\' <= L and restores to [B, L, D]' + (options.causal ? ', causally' : ''), () => {
      const reducer = make();
      const x = new Rng(5).normalTensor([2, L, dModel]);
      const ctx = makeForwardContext(2, L, { causal: options.causal });
      const r = reducer.reduce(x, ctx);
      expect(r.x.shape[0]).toBe(2);
      expect(r.x.shape[1]).toBeLessThanOrEqual(L);
      expect(r.x.shape[2]).toBe(dModel);
      const restored = r.restore(r.x);
      expect(restored.shape).toEqual([2, L, dModel]);
      if (options.causal) {
        const t = Math.floor(L / 2);
        const x2 = tf.concat([tf.slice(x, [0, 0, 0], [2, t + 1, dModel]), new Rng(6).normalTensor([2, L - t - 1, dModel])], 1);
        const r2 = reducer.reduce(x2, ctx);
        const restored2 = r2.restore(r2.x);
        expectTensorsClose(tf.slice(restored2, [0, 0, 0], [2, t + 1, dModel]), tf.slice(restored, [0, 0, 0], [2, t + 1, dModel]), { atol: 1e-5 });
      }
      reducer.dispose();
    });
  });
}
