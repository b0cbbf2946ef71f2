/**
 * The attention mixer: composes the slots of one self-attention sublayer.
 *
 *   q, k, v = heads.project(x)                 [B, H, L, Dh], [B, Hkv, L, Dh]
 *   q, k    = positional.rotate(q, k)          (rotary family, if any)
 *   o       = kernel.attend(q, k, v, ctx)      with positional.bias as a lazy tile bias
 *   y       = heads.output(o)                  [B, L, D]
 *
 * Decoding keeps keys/values in a KV cache from the `kvCache` slot; `step` appends the new
 * tokens' keys/values and attends the new queries to everything cached (bottom-right
 * causal alignment, queryOffset = cached - new).
 */
import {
  Module,
  StateError,
  tf,
  type AttentionContext,
  type AttentionKernel,
  type ForwardContext,
  type HeadLayout,
  type KVCache,
  type KVCacheFactory,
  type LayerState,
  type LogitBias,
  type PositionalEncoding,
  type SequenceMixer,
  type StepContext,
  type Tensor,
} from '@weft/core';
import { RECORD_ATTENTION, type AttentionRecorder } from '../tokens.js';

export interface AttentionMixerParts {
  heads: HeadLayout;
  kernel: AttentionKernel;
  positional?: PositionalEncoding;
  /** Own the positional encoding's parameters (per-layer encodings). */
  ownsPositional: boolean;
  kvCache: KVCacheFactory;
  layerIndex: number;
}

function sliceColumns(t: Tensor, start: number, end: number): Tensor {
  return tf.slice(t, [0, start], [-1, end - start]);
}

export class AttentionMixer extends Module implements SequenceMixer {
  readonly heads: HeadLayout;
  readonly kernel: AttentionKernel;
  readonly positional?: PositionalEncoding;
  private readonly kvCache: KVCacheFactory;
  readonly layerIndex: number;

  constructor(parts: AttentionMixerParts) {
    super();
    this.heads = this.addModule('heads', parts.heads);
    this.kernel = this.adopt('kernel', parts.kernel);
    this.positional = parts.ownsPositional ? this.adopt('positional', parts.positional) : parts.positional;
    this.kvCache = parts.kvCache;
    this.layerIndex = parts.layerIndex;
  }

  private logitBias(qPositions: Tensor, kPositions: Tensor, ctx: ForwardContext, x: Tensor): LogitBias | undefined {
    const pos = this.positional;
    if (!pos?.bias) return undefined;
    return (q, k) => pos.bias!(sliceColumns(qPositions, q.start, q.end), sliceColumns(kPositions, k.start, k.end), { ...ctx, x });
  }

  private scale(ctx: ForwardContext, queryLength: number): number | Tensor {
    const base = 1 / Math.sqrt(this.heads.headDim);
    const extra = this.positional?.logitScale?.(ctx, queryLength);
    if (extra === undefined) return base;
    return typeof extra === 'number' ? base * extra : tf.mul(extra, base);
  }

  private recorder(ctx: ForwardContext | StepContext): ((w: Tensor) => void) | undefined {
    const record = ctx.scratch.get(RECORD_ATTENTION) as AttentionRecorder | undefined;
    return record ? (w) => record(this.layerIndex, w) : undefined;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return tf.tidy(() => {
      const projected = this.heads.project(x, ctx);
      const v = projected.v;
      let { q, k } = projected;
      if (this.positional?.rotate) [q, k] = this.positional.rotate(q, k, ctx.positions, ctx.positions, ctx);
      const attnCtx: AttentionContext = {
        causal: ctx.causal,
        scale: this.scale(ctx, (x.shape as number[])[1]),
        queryOffset: 0,
        logitBias: this.logitBias(ctx.positions, ctx.positions, ctx, x),
        keyPaddingMask: ctx.paddingMask,
        querySegmentIds: ctx.segmentIds,
        keySegmentIds: ctx.segmentIds,
        queryPositions: ctx.positions,
        keyPositions: ctx.positions,
        training: ctx.training,
        rng: ctx.rng,
        layerIndex: this.layerIndex,
        recordWeights: this.kernel.supports.weights ? this.recorder(ctx) : undefined,
      };
      return this.heads.output(this.kernel.attend(q, k, v, attnCtx), ctx);
    });
  }

  /** Decoding works when the kernel decodes from a KV cache or from its own state. */
  canDecode(): boolean {
    return this.kernel.supports.decode || this.kernelDecodes;
  }

  /** A stateful kernel (linear-attention family) keeps its own fixed-size state instead of a KV cache. */
  private get kernelDecodes(): boolean {
    return typeof this.kernel.initState === 'function' && typeof this.kernel.attendStep === 'function';
  }

  initState(batch: number): LayerState {
    const dims = { kvHeads: this.heads.kvHeads, headDim: this.heads.headDim, layerIndex: this.layerIndex };
    if (this.kernelDecodes) return this.kernel.initState!(batch, { ...dims, heads: this.heads.heads });
    return this.kvCache.create(batch, dims);
  }

  private stepWithKernelState(x: Tensor, state: LayerState, stepCtx: StepContext): [Tensor, LayerState] {
    let next = state;
    const y = tf.tidy(() => {
      const ctx: ForwardContext = { ...stepCtx, causal: true, training: false };
      const projected = this.heads.project(x, ctx);
      const v = projected.v;
      let { q, k } = projected;
      if (this.positional?.rotate) [q, k] = this.positional.rotate(q, k, stepCtx.positions, stepCtx.positions, ctx);
      const attnCtx: AttentionContext = {
        causal: true,
        scale: this.scale(ctx, (x.shape as number[])[1]),
        queryOffset: 0,
        queryPositions: stepCtx.positions,
        keyPositions: stepCtx.positions,
        training: false,
        rng: stepCtx.rng,
        layerIndex: this.layerIndex,
      };
      const [o, s] = this.kernel.attendStep!(q, k, v, state, attnCtx);
      next = s;
      return this.heads.output(o, ctx);
    });
    return [y, next];
  }

  step(x: Tensor, state: LayerState, stepCtx: StepContext): [Tensor, LayerState] {
    if (this.kernelDecodes) return this.stepWithKernelState(x, state, stepCtx);
    const cache = state as KVCache;
    if (this.kvCache.needsWeights && !this.kernel.supports.weights) {
      throw new StateError(`Layer ${this.layerIndex}: this KV cache policy needs attention weights, which the attention kernel cannot report.`);
    }
    const y = tf.tidy(() => {
      const ctx: ForwardContext = { ...stepCtx, causal: true, training: false };
      const T = (x.shape as number[])[1];
      const projected = this.heads.project(x, ctx);
      const v = projected.v;
      let { q, k } = projected;
      if (this.positional?.rotate) [q, k] = this.positional.rotate(q, k, stepCtx.positions, stepCtx.positions, ctx);
      cache.append(k, v, stepCtx.positions);
      const keys = cache.keys();
      const cachedPositions = cache.positions();
      const Lc = (keys.shape as number[])[2];
      const record = this.recorder(stepCtx);
      const attnCtx: AttentionContext = {
        causal: true,
        scale: this.scale(ctx, Lc),
        queryOffset: Lc - T,
        logitBias: this.logitBias(stepCtx.positions, cachedPositions, ctx, x),
        queryPositions: stepCtx.positions,
        keyPositions: cachedPositions,
        training: false,
        rng: stepCtx.rng,
        layerIndex: this.layerIndex,
        recordWeights:
          this.kernel.supports.weights && (record || cache.observe)
            ? (w) => {
                record?.(w);
                cache.observe?.(w);
              }
            : undefined,
      };
      return this.heads.output(this.kernel.attend(q, keys, cache.values(), attnCtx), ctx);
    });
    return [y, cache];
  }
}
