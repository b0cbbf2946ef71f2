/**
 * Text generation from a causal LM: temperature, top-k and nucleus (top-p) sampling with a
 * seeded rng, greedy at temperature 0. Uses the model's decoding cache (KV caches for
 * attention, recurrent states for SSM/RNN mixers) when every layer can step; otherwise it
 * recomputes the full prefix each token.
 */
import { ConfigError, Rng, tf, type Tensor } from '@weft/core';
import type { CausalLM } from './models/causal-lm.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Stop a row when it produces this token. */
  stopToken?: number;
  /** Force recomputation even when the model can use a cache. */
  useCache?: boolean;
  onToken?: (step: number, tokens: number[]) => void;
}

/** Sample one id from a logits row (Float32Array) in JavaScript. */
export function sampleToken(logits: Float32Array, rng: Rng, options: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP'>): number {
  const temperature = options.temperature ?? 1;
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  const k = Math.min(options.topK ?? logits.length, logits.length);
  const probs = order.slice(0, k).map((i) => Math.exp((logits[i] - logits[best]) / temperature));
  const total = probs.reduce((a, b) => a + b, 0);
  let kept = probs.length;
  if (options.topP !== undefined && options.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < probs.length; i++) {
      cumulative += probs[i] / total;
      if (cumulative >= options.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const mass = probs.slice(0, kept).reduce((a, b) => a + b, 0);
  let u = rng.uniform() * mass;
  for (let i = 0; i < kept; i++) {
    u -= probs[i];
    if (u <= 0) return order[i];
  }
  return order[kept - 1];
}

function validate(options: GenerateOptions): void {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new ConfigError('maxNewTokens', `must be a non-negative integer; got ${options.maxNewTokens}`);
  }
  if (options.temperature !== undefined && !(options.temperature >= 0)) throw new ConfigError('temperature', `must be >= 0; got ${options.temperature}`);
  if (options.topK !== undefined && !(Number.isInteger(options.topK) && options.topK > 0)) throw new ConfigError('topK', `must be a positive integer; got ${options.topK}`);
  if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) throw new ConfigError('topP', `must be in (0, 1]; got ${options.topP}`);
}

/** Last-position logits of each row, [B, V] -> one Float32Array per row. */
function lastRows(logits: Tensor): Float32Array[] {
  const [B, T, V] = logits.shape;
  const last = tf.slice(logits, [0, T - 1, 0], [B, 1, V]);
  const data = last.dataSync() as Float32Array;
  last.dispose();
  return Array.from({ length: B }, (_, b) => data.slice(b * V, (b + 1) * V));
}

/**
 * Continue each prompt (rows of equal length) by up to maxNewTokens tokens. Returns the new
 * tokens of each row.
 */
export function generate(model: CausalLM, prompts: number[][], options: GenerateOptions): number[][] {
  validate(options);
  if (!prompts.length || prompts.some((p) => p.length !== prompts[0].length) || prompts[0].length === 0) {
    throw new ConfigError('prompt', 'give one or more non-empty prompts of equal length');
  }
  const rng = new Rng(options.seed ?? 0);
  const B = prompts.length;
  const out: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const useCache = (options.useCache ?? true) && model.canDecode();
  const pick = (rows: Float32Array[]) =>
    rows.map((row, b) => {
      if (done[b]) return options.stopToken ?? 0;
      const id = sampleToken(row, rng, options);
      out[b].push(id);
      if (id === options.stopToken) done[b] = true;
      return id;
    });

  if (useCache) {
    const cache = model.initCache(B);
    try {
      let input = tf.tensor2d(prompts.flat(), [B, prompts[0].length], 'int32');
      for (let t = 0; t < options.maxNewTokens && !done.every(Boolean); t++) {
        const logits = model.step(input, cache);
        input.dispose();
        const next = pick(lastRows(logits));
        logits.dispose();
        options.onToken?.(t, next);
        input = tf.tensor2d(next, [B, 1], 'int32');
      }
      input.dispose();
    } finally {
      cache.dispose();
    }
    return out;
  }
  const sequences = prompts.map((p) => [...p]);
  for (let t = 0; t < options.maxNewTokens && !done.every(Boolean); t++) {
    const ids = tf.tensor2d(sequences.flat(), [B, sequences[0].length], 'int32');
    const logits = model.forward(ids);
    const next = pick(lastRows(logits));
    tf.dispose([ids, logits]);
    next.forEach((id, b) => sequences[b].push(id));
    options.onToken?.(t, next);
  }
  return out;
}
