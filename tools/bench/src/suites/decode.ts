/**
 * Suite `decode`: greedy generation speed of the reference LM (4 layers, d = 128) after a
 * prompt of `context` tokens, two ways:
 *   cache      — prefill once (model.step on the prompt), then one model.step per new token
 *                (KV cache for attention, recurrent state for mixers);
 *   recompute  — a full forward over the whole prefix for every new token.
 * Per-token latency is the median over the generated tokens; tokens/s = 1000 / latency.
 *
 * Variants (variants.ts): every attention kernel and mixer, and every head layout / KV cache
 * (MQA, GQA, CLA, MLKV, SwitchHead, value residual, InAttention, TOVA, GEAR, Relay) on the
 * dense model. With the cache we also record the cache's bytes after the last token
 * (KVCache.bytes(): K/V for attention, the recurrent state for mixers). Head-layout and KV
 * variants run only `cache` (recomputing does not touch the cache they change).
 */
import { Rng, tf, type Registry, type Tensor } from '@weft/core';
import { buildModel, type CausalLM } from '@weft/nn';
import { restartBackend } from '../backend.js';
import { median } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import {
  HEADS_KV_VARIANTS,
  resolveVariants,
  slotVariants,
  type ModelVariant,
} from '../variants.js';

export type DecodeMode = 'cache' | 'recompute';

/** The decode model (the train suite's reference config) — keep in step with torch_baseline.py. */
export const DECODE_MODEL = { vocab: 256, dModel: 128, layers: 4, heads: 4 };

export function decodeKey(mode: DecodeMode, context: number): string {
  return `decode/${mode}/ctx${context}`;
}

/** Greedy next token from the last position of logits [B, T, V]. */
function nextToken(logits: Tensor): number {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    return tf.argMax(tf.slice(logits, [0, T - 1, 0], [B, 1, V]), -1).dataSync()[0];
  });
}

function promptIds(context: number, vocab: number): number[] {
  const rng = new Rng(7);
  return Array.from({ length: context }, () => Math.floor(rng.uniform() * vocab));
}

/** Per-token ms with the cache, the prefill ms, and the cache's bytes at the end. */
function decodeWithCache(
  model: CausalLM,
  prompt: number[],
  tokens: number,
): { perToken: number[]; prefillMs: number; cacheBytes: number } {
  const cache = model.initCache(1);
  try {
    const t0 = performance.now();
    const promptTensor = tf.tensor2d(prompt, [1, prompt.length], 'int32');
    const first = model.step(promptTensor, cache);
    let token = nextToken(first);
    tf.dispose([promptTensor, first]);
    const prefillMs = performance.now() - t0;
    const perToken: number[] = [];
    for (let i = 0; i < tokens; i++) {
      const t1 = performance.now();
      const ids = tf.tensor2d([token], [1, 1], 'int32');
      const logits = model.step(ids, cache);
      token = nextToken(logits);
      tf.dispose([ids, logits]);
      perToken.push(performance.now() - t1);
    }
    return { perToken, prefillMs, cacheBytes: cache.bytes() };
  } finally {
    cache.dispose();
  }
}

/** Per-token ms recomputing the whole prefix each time. */
function decodeByRecompute(model: CausalLM, prompt: number[], tokens: number): number[] {
  const ids = [...prompt];
  const perToken: number[] = [];
  for (let i = 0; i < tokens; i++) {
    const t0 = performance.now();
    const input = tf.tensor2d(ids, [1, ids.length], 'int32');
    const logits = model.forward(input);
    ids.push(nextToken(logits));
    tf.dispose([input, logits]);
    perToken.push(performance.now() - t0);
  }
  return perToken;
}

/** Whether `label` is selected by --kinds (the full label or the part after `family:`). */
export function pickLabel(kinds: readonly string[] | undefined, label: string): boolean {
  return !kinds || kinds.includes(label) || kinds.includes(label.slice(label.indexOf(':') + 1));
}

/** The decode suite's variants: kernels and mixers, then head layouts and KV caches. */
export function decodeVariants(registry: Registry, kinds?: readonly string[]): ModelVariant[] {
  return [
    ...slotVariants(registry, kinds),
    ...resolveVariants(registry, HEADS_KV_VARIANTS).filter((v) => pickLabel(kinds, v.label)),
  ];
}

function failure(error: unknown): string {
  return `failed: ${((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200)}`;
}

export async function decodeSuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const contexts = options.tiny ? [8] : options.contexts;
  const tokens = options.tiny ? 2 : options.decodeTokens;
  const dims = options.tiny ? { vocab: 32, dModel: 16, layers: 2, heads: 2 } : DECODE_MODEL;
  const maxLen = Math.max(...contexts) + tokens + 1;
  const rows: BenchRow[] = [];
  for (const variant of decodeVariants(registry, options.kinds)) {
    options.checkpoint?.(rows);
    const { label, plugin } = variant;
    const empty = { suite: 'decode' as const, kind: label, plugin, shape: {}, metrics: {} };
    if (variant.skip) {
      rows.push({ ...empty, key: `decode/${label}`, status: 'skipped', note: variant.skip });
      continue;
    }
    // Head layouts and caches change what is cached, not the full recompute.
    const slotVariant = 'attention' in variant.config || 'mixer' in variant.config;
    const modes = slotVariant
      ? options.decodeModes
      : options.decodeModes.filter((m) => m === 'cache');
    let model: CausalLM;
    try {
      model = buildModel(registry, { ...dims, maxLen, seed: 0, ...variant.config }) as CausalLM;
    } catch (error) {
      rows.push({ ...empty, key: `decode/build/${label}`, status: 'failed', note: failure(error) });
      options.log(`decode ${label}: ${failure(error)}`);
      continue;
    }
    let broken = false;
    try {
      let last: { context: number; ms: number; stepMs: number } | undefined;
      for (const context of contexts) {
        // Prefill grows at least linearly in the context, and a step does not get cheaper:
        // stop when either would exceed the limit.
        const estimate = last
          ? Math.max((last.ms * context) / last.context, last.stepMs * tokens) / 1000
          : 0;
        if (estimate > options.maxPointSeconds) {
          const note = `stopped: estimated prefill or ${tokens} steps ${estimate.toFixed(0)} s > limit ${options.maxPointSeconds} s`;
          for (const mode of modes)
            rows.push({
              ...empty,
              key: decodeKey(mode, context),
              shape: { mode, context, tokens, ...dims },
              status: 'skipped',
              note,
            });
          options.log(`decode ${label} ctx=${context}: ${note}`);
          break;
        }
        const prompt = promptIds(context, dims.vocab);
        for (const mode of modes) {
          const shape = { mode, context, tokens, ...dims };
          const base = { ...empty, key: decodeKey(mode, context), shape };
          if (mode === 'cache' && !model.canDecode()) {
            rows.push({
              ...base,
              status: 'skipped',
              note: 'skipped: a layer cannot step (no decoding cache)',
            });
            continue;
          }
          try {
            // Recomputing is slow at long contexts: a few tokens give a stable median.
            const n = mode === 'cache' ? tokens : Math.min(tokens, 4);
            const run =
              mode === 'cache'
                ? decodeWithCache(model, prompt, n)
                : { perToken: decodeByRecompute(model, prompt, n) };
            const latency = median(run.perToken.length > 2 ? run.perToken.slice(1) : run.perToken); // first token warms up
            const metrics: Record<string, number> = {
              msPerToken: latency,
              tokensPerSec: 1000 / latency,
            };
            if ('prefillMs' in run) {
              last = { context, ms: run.prefillMs, stepMs: latency };
              metrics.prefillMs = run.prefillMs;
              metrics.cacheBytes = run.cacheBytes;
            }
            rows.push({ ...base, status: 'ok', metrics });
            options.log(
              `decode ${label} ${mode} ctx=${context}: ${latency.toFixed(1)} ms/token${'cacheBytes' in run ? `, cache ${(run.cacheBytes / 1024).toFixed(0)} KiB` : ''}`,
            );
          } catch (error) {
            rows.push({ ...base, status: 'failed', note: failure(error) });
            options.log(`decode ${label} ${mode} ctx=${context}: ${failure(error)}`);
            // A failed allocation can leave the wasm heap unusable: restart, drop this model.
            broken = true;
            await restartBackend();
            break;
          }
        }
        if (broken) break;
      }
    } finally {
      // After a restart the model's tensors are already gone.
      if (!broken) model.dispose();
    }
  }
  return rows;
}
