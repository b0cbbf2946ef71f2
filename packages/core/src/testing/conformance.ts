/**
 * Conformance suites: the tests every implementation of a slot runs. Call one inside a
 * jest file; it defines the tests (shapes, dtype, no leaks, causality when claimed,
 * step == forward when claimed, config round-trip).
 */
import { tf } from '../tfjs.js';
import type { AttentionContext, ForwardContext, StepContext } from '../context.js';
import type { AttentionKernel, PositionalEncoding, SequenceMixer, SlotName } from '../slots.js';
import type { Registry } from '../registry.js';
import { Rng } from '../rng.js';
import { expectTensorsClose } from './close.js';
import { naiveAttention } from './reference.js';
import { describeWithBackends } from './backends.js';

export function makeForwardContext(B: number, L: number, overrides: Partial<ForwardContext> = {}): ForwardContext {
  return {
    causal: true,
    training: false,
    positions: tf.tidy(() => tf.tile(tf.range(0, L, 1, 'int32').expandDims(0), [B, 1])),
    rng: new Rng(0),
    layerIndex: 0,
    scratch: new Map(),
    ...overrides,
  };
}

export function makeAttentionContext(overrides: Partial<AttentionContext> = {}): AttentionContext {
  return { causal: false, scale: 0, queryOffset: 0, training: false, rng: new Rng(0), layerIndex: 0, ...overrides } as AttentionContext;
}

function withTensorCountCheck<T extends tf.TensorContainer>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const result = out;
  const after = tf.memory().numTensors;
  const created = Array.isArray(result) ? result.length : result instanceof tf.Tensor ? 1 : 0;
  expect(after - before).toBe(created);
  return result;
}

export interface AttentionConformanceOptions {
  /** The kernel computes exact softmax attention (compare to the naive reference). */
  exact: boolean;
  tolerance?: number;
  B?: number;
  H?: number;
  L?: number;
  Dh?: number;
}

export function attentionKernelConformance(name: string, make: () => AttentionKernel, options: AttentionConformanceOptions): void {
  const { B = 2, H = 2, L = 12, Dh = 8, tolerance = 1e-4 } = options;
  describeWithBackends(`${name}: attention kernel conformance`, () => {
    const rng = new Rng(1234);
    let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
    beforeAll(() => {
      q = rng.normalTensor([B, H, L, Dh]);
      k = rng.normalTensor([B, H, L, Dh]);
      v = rng.normalTensor([B, H, L, Dh]);
    });
    afterAll(() => tf.dispose([q, k, v]));
    const scale = 1 / Math.sqrt(Dh);

    for (const causal of [true, false]) {
      const label = causal ? 'causal' : 'bidirectional';
      it(`${label}: shape, dtype, no leaks${options.exact ? ', equals naive softmax attention' : ''}`, () => {
        const kernel = make();
        if (!(causal ? kernel.supports.causal : kernel.supports.bidirectional)) return;
        const out = withTensorCountCheck(() => kernel.attend(q, k, v, makeAttentionContext({ causal, scale, queryOffset: 0 })));
        expect(out.shape).toEqual([B, H, L, Dh]);
        expect(out.dtype).toBe('float32');
        if (options.exact) {
          const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh }, { causal, scale, queryOffset: 0 });
          expectTensorsClose(out, ref, { atol: tolerance, rtol: tolerance });
        }
        out.dispose();
      });
    }

    it('causal: changing keys/values after position t leaves outputs up to t unchanged', () => {
      const kernel = make();
      if (!kernel.supports.causal) return;
      const t = Math.floor(L / 2);
      const [a, b] = tf.tidy(() => {
        const ctx = makeAttentionContext({ causal: true, scale, queryOffset: 0 });
        const noise = rng.normalTensor([B, H, L - t - 1, Dh]);
        const k2 = tf.concat([k.slice([0, 0, 0, 0], [B, H, t + 1, Dh]), noise], 2);
        const v2 = tf.concat([v.slice([0, 0, 0, 0], [B, H, t + 1, Dh]), noise.mul(2)], 2);
        const q2 = tf.concat([q.slice([0, 0, 0, 0], [B, H, t + 1, Dh]), noise.mul(-1)], 2);
        const o1 = kernel.attend(q, k, v, ctx).slice([0, 0, 0, 0], [B, H, t + 1, Dh]);
        const o2 = kernel.attend(q2, k2, v2, ctx).slice([0, 0, 0, 0], [B, H, t + 1, Dh]);
        return [o1, o2];
      });
      expectTensorsClose(a, b, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([a, b]);
    });

    it('key padding: padded keys are ignored', () => {
      const kernel = make();
      if (!kernel.supports.padding || !options.exact) return;
      const keep = L - 3;
      const mask = tf.tidy(() => tf.concat([tf.ones([B, keep]), tf.zeros([B, L - keep])], 1));
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale, keyPaddingMask: mask }));
      const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh }, { scale, allowed: (_b, _i, j) => j < keep });
      expectTensorsClose(out, ref, { atol: tolerance, rtol: tolerance });
      tf.dispose([mask, out]);
    });

    it('logit bias: added before softmax', () => {
      const kernel = make();
      if (!kernel.supports.bias || !options.exact) return;
      const slope = 0.3;
      const biasFn = (bq: { start: number; end: number }, bk: { start: number; end: number }) =>
        tf.tidy(() => {
          const i = tf.range(bq.start, bq.end).reshape([-1, 1]);
          const j = tf.range(bk.start, bk.end).reshape([1, -1]);
          return tf.abs(tf.sub(i, j)).mul(-slope).reshape([1, 1, bq.end - bq.start, bk.end - bk.start]);
        });
      const out = kernel.attend(q, k, v, makeAttentionContext({ causal: false, scale, logitBias: biasFn }));
      const ref = naiveAttention(q.dataSync(), k.dataSync(), v.dataSync(), { B, H, Lq: L, Lk: L, Dh }, { scale, bias: (_b, _h, i, j) => -slope * Math.abs(i - j) });
      expectTensorsClose(out, ref, { atol: tolerance, rtol: tolerance });
      out.dispose();
    });
  });
}

export interface MixerConformanceOptions {
  dModel: number;
  B?: number;
  L?: number;
  /** Tolerance for step == forward. */
  tolerance?: number;
}

/** `make` builds a fresh mixer (same seed each call is not required). */
export function mixerConformance(name: string, make: () => SequenceMixer, capabilities: { causal: boolean; decode: boolean }, options: MixerConformanceOptions): void {
  const { dModel, B = 2, L = 10, tolerance = 1e-4 } = options;
  describeWithBackends(`${name}: mixer conformance`, () => {
    let mixer: SequenceMixer;
    let x: tf.Tensor;
    const rng = new Rng(99);
    beforeAll(() => {
      mixer = make();
      x = rng.normalTensor([B, L, dModel]);
    });
    afterAll(() => {
      mixer.dispose();
      x.dispose();
    });

    it('maps [B, L, D] to [B, L, D] float32 without leaking tensors', () => {
      const ctx = makeForwardContext(B, L, { causal: capabilities.causal });
      const y = withTensorCountCheck(() => mixer.forward(x, ctx));
      expect(y.shape).toEqual([B, L, dModel]);
      expect(y.dtype).toBe('float32');
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([y, ctx.positions]);
    });

    if (capabilities.causal) {
      it('is causal: changing token t+1.. leaves outputs up to t unchanged', () => {
        const t = Math.floor(L / 2);
        const ctx = makeForwardContext(B, L, { causal: true });
        const [a, b] = tf.tidy(() => {
          const x2 = tf.concat([x.slice([0, 0, 0], [B, t + 1, dModel]), rng.normalTensor([B, L - t - 1, dModel])], 1);
          return [mixer.forward(x, ctx).slice([0, 0, 0], [B, t + 1, dModel]), mixer.forward(x2, ctx).slice([0, 0, 0], [B, t + 1, dModel])];
        });
        expectTensorsClose(a, b, { atol: 1e-5, rtol: 1e-5 });
        tf.dispose([a, b, ctx.positions]);
      });
    }

    if (capabilities.decode) {
      it('step == forward: feeding tokens one at a time gives the parallel outputs', () => {
        expect(typeof mixer.initState).toBe('function');
        expect(typeof mixer.step).toBe('function');
        const ctx = makeForwardContext(B, L, { causal: true });
        const full = mixer.forward(x, ctx);
        let state = mixer.initState!(B);
        const outs: tf.Tensor[] = [];
        for (let t = 0; t < L; t++) {
          const positions = tf.fill([B, 1], t, 'int32');
          const stepCtx: StepContext = { training: false, rng: new Rng(0), layerIndex: 0, positions, scratch: new Map() };
          const xt = x.slice([0, t, 0], [B, 1, dModel]);
          const [y, next] = mixer.step!(xt, state, stepCtx);
          state = next;
          outs.push(y);
          tf.dispose([xt, positions]);
        }
        const stepped = tf.concat(outs, 1);
        expectTensorsClose(stepped, full, { atol: tolerance, rtol: tolerance });
        tf.dispose([full, stepped, ...outs, ctx.positions]);
        state.dispose();
      });
    }
  });
}

export interface PositionalConformanceOptions {
  heads: number;
  headDim: number;
  dModel: number;
}

export function positionalConformance(name: string, make: () => PositionalEncoding, options: PositionalConformanceOptions): void {
  const { heads: H, headDim: Dh, dModel: D } = options;
  const B = 2;
  const L = 7;
  describeWithBackends(`${name}: positional conformance`, () => {
    const rng = new Rng(7);
    it('implements at least one hook and each hook keeps shapes without leaks', () => {
      const enc = make();
      expect(Boolean(enc.embed || enc.rotate || enc.bias || enc.logitScale)).toBe(true);
      const ctx = makeForwardContext(B, L);
      if (enc.embed) {
        const x = rng.normalTensor([B, L, D]);
        const y = withTensorCountCheck(() => enc.embed!(x, ctx.positions, ctx));
        expect(y.shape).toEqual([B, L, D]);
        tf.dispose([x, y]);
      }
      if (enc.rotate) {
        const q = rng.normalTensor([B, H, L, Dh]);
        const k = rng.normalTensor([B, H, L, Dh]);
        const [q2, k2] = withTensorCountCheck(() => enc.rotate!(q, k, ctx.positions, ctx.positions, ctx));
        expect(q2.shape).toEqual([B, H, L, Dh]);
        expect(k2.shape).toEqual([B, H, L, Dh]);
        tf.dispose([q, k, q2, k2]);
      }
      if (enc.bias) {
        const x = rng.normalTensor([B, L, D]);
        const bias = withTensorCountCheck(() => enc.bias!(ctx.positions, ctx.positions, { ...ctx, x }));
        expect(bias.rank).toBe(4);
        expect([1, B]).toContain(bias.shape[0]);
        expect([1, H]).toContain(bias.shape[1]);
        expect(bias.shape.slice(2)).toEqual([L, L]);
        tf.dispose([bias, x]);
      }
      ctx.positions.dispose();
      if ('dispose' in enc && typeof (enc as { dispose?: () => void }).dispose === 'function') (enc as { dispose: () => void }).dispose();
    });
  });
}

/** A config validated twice gives the same normalized config (defaults are stable). */
export function expectConfigRoundTrip(registry: Registry, slot: SlotName, config: unknown): void {
  const once = registry.validate(slot, config);
  const twice = registry.validate(slot, JSON.parse(JSON.stringify(once)));
  expect(twice).toEqual(once);
}
