/**
 * Suite `memory`: the cost per token of segment memories as the input grows. A model with
 * `segmentLength` Ls runs a long input segment by segment, carrying state (Transformer-XL's
 * cached hidden states, RMT's memory tokens, Infini-attention's compressive memory, FAM's
 * feedback tokens, Block-Recurrent's state); its work per token should not grow with the
 * total length T, unlike full attention (whose per-token cost grows ∝ T).
 *
 * Per variant and T (1k, 4k, 16k tokens; Ls = 512; 2 layers, d = 128, 4 heads, B = 1):
 *   ms/token     model.forward over the whole input (inference, segment recurrence inside the
 *                model) ÷ T — flat in T when the memory is constant-size;
 *   state bytes  LayerState.bytes() of the carried state after the last segment, from the
 *                layer's own forwardSegment (segment mixers) or read/write (the model-level
 *                memory slot) run over the same T/Ls segments, times the layers that carry it.
 * `memory:segments-only` is the same model with segments and no memory: the floor.
 */
import {
  Rng,
  tf,
  type ForwardContext,
  type LayerState,
  type Registry,
  type SegmentMemory,
  type SequenceMixer,
} from '@weft/core';
import { buildModel, type CausalLM } from '@weft/nn';
import { restartBackend } from '../backend.js';
import { measure } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import { pickLabel } from './decode.js';
import { memoryVariantSpecs, resolveVariants, type ModelVariant } from '../variants.js';

export interface MemoryShape {
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  segmentLength: number;
  lengths: number[];
}

export const MEMORY_SHAPE: MemoryShape = {
  vocab: 256,
  dModel: 128,
  layers: 2,
  heads: 4,
  segmentLength: 512,
  lengths: [1024, 4096, 16384],
};

const TINY: MemoryShape = {
  vocab: 32,
  dModel: 16,
  layers: 1,
  heads: 2,
  segmentLength: 8,
  lengths: [16, 32],
};

export function memoryKey(shape: MemoryShape, T: number): string {
  return `memory/T${T}/Ls${shape.segmentLength}/d${shape.dModel}/n${shape.layers}`;
}

function segmentContext(B: number, Ls: number, index: number): ForwardContext {
  return {
    causal: true,
    training: false,
    positions: tf.tile(tf.reshape(tf.range(0, Ls, 1, 'int32'), [1, Ls]), [B, 1]), // [B, Ls]
    rng: new Rng(index),
    layerIndex: 0,
    scratch: new Map(),
    segmentIndex: index,
  };
}

/**
 * Bytes of the state one layer (or the model-level memory) carries after `segments` segments
 * of random input, or undefined when the variant carries none that we can reach.
 */
function carriedStateBytes(
  registry: Registry,
  variant: ModelVariant,
  shape: MemoryShape,
  segments: number,
): number | undefined {
  const dims = {
    heads: shape.heads,
    headDim: shape.dModel / shape.heads,
    dModel: shape.dModel,
    maxLen: Math.max(...shape.lengths),
  };
  const mixerConfig = variant.config.mixer as { kind: string } | undefined;
  const memoryConfig = variant.config.memory as { kind: string } | undefined;
  if (!mixerConfig && !memoryConfig) return 0;
  const Ls = shape.segmentLength;
  const rng = new Rng(5);
  if (mixerConfig) {
    const mixer = registry.create('mixer', mixerConfig, { dims }) as SequenceMixer;
    if (!mixer.initState || !mixer.forwardSegment) {
      mixer.dispose?.();
      return undefined;
    }
    let state: LayerState = mixer.initState(1);
    try {
      return tf.tidy(() => {
        for (let s = 0; s < segments; s++) {
          const ctx = segmentContext(1, Ls, s);
          const x = rng.normalTensor([1, Ls, shape.dModel]); // [1, Ls, D]
          [, state] = mixer.forwardSegment!(x, state, ctx);
        }
        return state.bytes();
      });
    } finally {
      state.dispose();
      mixer.dispose?.();
    }
  }
  const memory = registry.create('memory', memoryConfig!, { dims }) as SegmentMemory;
  let state: LayerState = memory.init(1);
  try {
    return tf.tidy(() => {
      for (let s = 0; s < segments; s++) {
        const ctx = segmentContext(1, Ls, s);
        const x = rng.normalTensor([1, Ls, shape.dModel]); // [1, Ls, D]
        const h = memory.read(x, state, ctx); // [1, Ls', D]
        [, state] = memory.write(h, state, ctx);
      }
      return state.bytes();
    });
  } finally {
    state.dispose();
    memory.dispose();
  }
}

function failure(error: unknown): string {
  return `failed: ${((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200)}`;
}

export async function memorySuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const shape = options.tiny ? TINY : { ...MEMORY_SHAPE, lengths: options.memoryLengths };
  const rows: BenchRow[] = [];
  const variants = resolveVariants(registry, memoryVariantSpecs(shape.segmentLength)).filter((v) =>
    pickLabel(options.kinds, v.label),
  );
  for (const variant of variants) {
    options.checkpoint?.(rows);
    const empty = { suite: 'memory' as const, kind: variant.label, plugin: variant.plugin };
    if (variant.skip) {
      rows.push({
        ...empty,
        key: `memory/${variant.label}`,
        status: 'skipped',
        note: variant.skip,
        shape: {},
        metrics: {},
      });
      continue;
    }
    let model: CausalLM;
    try {
      model = buildModel(registry, {
        vocab: shape.vocab,
        dModel: shape.dModel,
        layers: shape.layers,
        heads: shape.heads,
        maxLen: Math.max(...shape.lengths),
        segmentLength: shape.segmentLength,
        seed: 0,
        ...variant.config,
      }) as CausalLM;
    } catch (error) {
      rows.push({
        ...empty,
        key: `memory/build/${variant.label}`,
        status: 'failed',
        note: failure(error),
        shape: {},
        metrics: {},
      });
      options.log(`memory ${variant.label}: ${failure(error)}`);
      continue;
    }
    // Layers that carry the state: every layer for a segment mixer, one model-level memory.
    const carriers = variant.config.mixer ? shape.layers : 1;
    try {
      let lastMs = 0;
      for (const T of shape.lengths) {
        const rowShape = {
          T,
          segmentLength: shape.segmentLength,
          dModel: shape.dModel,
          layers: shape.layers,
          heads: shape.heads,
        };
        const rowBase = { ...empty, key: memoryKey(shape, T), shape: rowShape };
        const rng = new Rng(T);
        const ids = tf.tensor2d(
          Array.from({ length: T }, () => Math.floor(rng.uniform() * shape.vocab)),
          [1, T],
          'int32',
        );
        try {
          const reps = options.tiny ? 1 : lastMs > 2000 ? 1 : options.reps;
          const m = await measure(() => tf.tidy(() => void model.forward(ids).dataSync()), reps);
          lastMs = m.ms;
          let layerBytes: number | undefined;
          let note: string | undefined;
          try {
            layerBytes = carriedStateBytes(
              registry,
              variant,
              shape,
              Math.ceil(T / shape.segmentLength),
            );
          } catch (error) {
            note = `state bytes not measured (${failure(error)})`;
          }
          const metrics: Record<string, number> = {
            ms: m.ms,
            msPerToken: m.ms / T,
            tokensPerSec: (T * 1000) / m.ms,
            peakBytes: m.peakBytes,
            reps: m.samples.length,
          };
          if (layerBytes !== undefined) metrics.stateBytes = layerBytes * carriers;
          rows.push({ ...rowBase, status: 'ok', ...(note ? { note } : {}), metrics });
          options.log(
            `memory ${variant.label} T=${T}: ${(m.ms / T).toFixed(3)} ms/token${layerBytes !== undefined ? `, state ${((layerBytes * carriers) / 1024).toFixed(0)} KiB` : ''}`,
          );
        } catch (error) {
          rows.push({ ...rowBase, status: 'failed', note: failure(error), metrics: {} });
          options.log(`memory ${variant.label} T=${T}: ${failure(error)}`);
          await restartBackend();
          break;
        } finally {
          if (!ids.isDisposed) ids.dispose();
        }
      }
    } finally {
      try {
        model.dispose();
      } catch {
        // after a backend restart its tensors are already gone
      }
    }
  }
  return rows;
}
