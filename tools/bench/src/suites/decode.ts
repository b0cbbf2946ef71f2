/**
 * Suite `decode`: greedy generation speed of the reference LM (4 layers, d = 128) after a
 * prompt of `context` tokens, two ways:
 *   cache      — prefill once (model.step on the prompt), then one model.step per new token
 *                (KV cache for attention, recurrent state for mixers);
 *   recompute  — a full forward over the whole prefix for every new token.
 * Per-token latency is the median over the generated tokens; tokens/s = 1000 / latency.
 */
import { Rng, tf, type Registry, type Tensor } from '@weft/core';
import { buildModel, type CausalLM } from '@weft/nn';
import { median } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import { benchVariants, providerOf } from '../plugins.js';

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

/** Per-token ms with the cache, and the prefill ms. */
function decodeWithCache(
  model: CausalLM,
  prompt: number[],
  tokens: number,
): { perToken: number[]; prefillMs: number } {
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
    return { perToken, prefillMs };
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

export async function decodeSuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const contexts = options.tiny ? [8] : options.contexts;
  const tokens = options.tiny ? 2 : options.decodeTokens;
  const dims = options.tiny ? { vocab: 32, dModel: 16, layers: 1, heads: 2 } : DECODE_MODEL;
  const maxLen = Math.max(...contexts) + tokens + 1;
  const rows: BenchRow[] = [];
  for (const { slot, kind, skip } of benchVariants(registry, options.kinds)) {
    let model: CausalLM | undefined;
    const label = slot === 'mixer' ? `mixer:${kind}` : kind;
    const plugin = providerOf(registry, slot, kind);
    if (skip) {
      const key = `decode/${label}`;
      rows.push({
        suite: 'decode',
        key,
        kind: label,
        plugin,
        status: 'skipped',
        note: skip,
        shape: {},
        metrics: {},
      });
      continue;
    }
    try {
      model = buildModel(registry, {
        ...dims,
        maxLen,
        seed: 0,
        ...(slot === 'attention' ? { attention: { kind } } : { mixer: { kind } }),
      }) as CausalLM;
    } catch (error) {
      rows.push({
        suite: 'decode',
        key: `decode/build/${label}`,
        kind: label,
        plugin,
        status: 'failed',
        note: `failed: ${(error as Error).message.split('\n')[0]}`,
        shape: {},
        metrics: {},
      });
      continue;
    }
    try {
      for (const context of contexts) {
        const prompt = promptIds(context, dims.vocab);
        for (const mode of ['cache', 'recompute'] as const) {
          const shape = { mode, context, tokens, ...dims };
          const base = {
            suite: 'decode' as const,
            key: decodeKey(mode, context),
            kind: label,
            plugin,
            shape,
          };
          if (mode === 'cache' && !model.canDecode()) {
            rows.push({
              ...base,
              status: 'skipped',
              note: 'skipped: a layer cannot step (no decoding cache)',
              metrics: {},
            });
            continue;
          }
          try {
            // Recomputing is slow at long contexts: a few tokens give a stable median.
            const n = mode === 'cache' ? tokens : Math.min(tokens, 4);
            const run =
              mode === 'cache'
                ? decodeWithCache(model, prompt, n)
                : { perToken: decodeByRecompute(model, prompt, n), prefillMs: undefined };
            const latency = median(run.perToken.length > 2 ? run.perToken.slice(1) : run.perToken); // first token warms up
            const metrics: Record<string, number> = {
              msPerToken: latency,
              tokensPerSec: 1000 / latency,
            };
            if (run.prefillMs !== undefined) metrics.prefillMs = run.prefillMs;
            rows.push({ ...base, status: 'ok', metrics });
            options.log(`decode ${label} ${mode} ctx=${context}: ${latency.toFixed(1)} ms/token`);
          } catch (error) {
            rows.push({
              ...base,
              status: 'failed',
              note: `failed: ${(error as Error).message.split('\n')[0].slice(0, 200)}`,
              metrics: {},
            });
          }
        }
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}
