/**
 * Decoding-cache size per head layout / KV cache: one fixed model shape (4 layers, dModel 128,
 * 8 query heads of Dh = 16, GELU MLP, sinusoidal positions, vocab 64, batch 1), built with each
 * layout; the prompt is prefilled through `model.step` in chunks and `ModelCache.bytes()` is
 * read after every chunk. Decode speed is timed at 1k context (one token per step, greedy).
 *
 *   node --conditions=source --import tsx tools/experiments/kv-cache/cache-bytes.ts \
 *     [--contexts 1024,4096] [--extrapolate 16384] [--chunk 256] [--decode-steps 8] \
 *     [--layouts mha,mqa,...] [--out tools/experiments/kv-cache/results.json]
 *
 * Bytes at the `--extrapolate` contexts are NOT measured: they come from the straight line
 * bytes(T) = a + b·T through the two largest measured contexts, and the script checks that
 * line against every other measured point (chunk boundaries) at or above 1k first.
 */
import { writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { createRegistry, tf, useBackend } from '@weft/core';
import { buildModel, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import mqa from '@weft/heads-mqa';
import cla from '@weft/heads-cla';
import mlkv from '@weft/heads-mlkv';
import tova from '@weft/kv-tova';
import valueResidual from '@weft/heads-value-residual';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const CONTEXTS = arg('contexts', '1024,4096').split(',').map(Number).sort((a, b) => a - b);
const EXTRAPOLATE = arg('extrapolate', '16384').split(',').filter(Boolean).map(Number);
const CHUNK = Number(arg('chunk', '256'));
const DECODE_STEPS = Number(arg('decode-steps', '8'));
const DECODE_AT = 1024;
const OUT = arg('out', 'tools/experiments/kv-cache/results.json');

const SHAPE = { vocab: 64, dModel: 128, layers: 4, heads: 8, maxLen: 16384 + 64, seed: 0 } as const;
const HEAD_DIM = SHAPE.dModel / SHAPE.heads;

/** The layout / cache settings per row, with the expected bytes per token (4-byte floats and int32 positions). */
const LAYOUTS: Record<string, { config: Partial<ModelConfigInput>; formula: string }> = {
  mha: { config: {}, formula: 'layers · (2·H·Dh + 1) · 4' },
  mqa: { config: { headLayout: { kind: 'mqa' } }, formula: 'layers · (2·1·Dh + 1) · 4' },
  'gqa (kvHeads 2)': { config: { headLayout: { kind: 'gqa', kvHeads: 2 } }, formula: 'layers · (2·G·Dh + 1) · 4, G = 2' },
  'cla (sharing 2)': {
    config: { headLayout: { kind: 'cla', sharing: 2 }, kvCache: { kind: 'cla' } },
    formula: '⌈layers/s⌉ · (2·H·Dh + 1) · 4, s = 2',
  },
  'mlkv (groups 2, kvHeads 1)': {
    config: { headLayout: { kind: 'mlkv', groups: 2, kvHeads: 1 }, kvCache: { kind: 'mlkv' } },
    formula: '(layers/s) · (2·Hkv·Dh + 1) · 4, s = 2, Hkv = 1',
  },
  'tova (budget 256)': {
    config: { kvCache: { kind: 'tova', budget: 256 } },
    formula: 'layers · (2·H·min(T, budget)·Dh + min(T, budget)) · 4 (+ per-token scores, if kept)',
  },
  svformer: {
    config: { headLayout: { kind: 'svformer' }, kvCache: { kind: 'svformer' } },
    formula: '(layers · (H·Dh + 1) + H·Dh) · 4 per token (keys and positions per layer, values once)',
  },
};
const KEYS: Record<string, string> = {
  mha: 'mha', mqa: 'mqa', gqa: 'gqa (kvHeads 2)', cla: 'cla (sharing 2)', mlkv: 'mlkv (groups 2, kvHeads 1)', tova: 'tova (budget 256)', svformer: 'svformer',
};

interface Row {
  layout: string;
  formula: string;
  /** bytes after each prefill chunk: [context, bytes]. */
  points: Array<[number, number]>;
  measured: Record<string, number>;
  extrapolated: Record<string, number>;
  /** Bytes per token of the line through the two largest measured contexts. */
  bytesPerToken: number;
  /** Largest |measured − line| over the chunk points ≥ 1k (0 means exactly linear there). */
  lineError: number;
  prefillSeconds: Record<string, number>;
  decodeTokensPerSecond: number | null;
  error?: string;
}

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 8) % SHAPE.vocab);
}

function prefillTo(model: CausalLM, cache: ReturnType<CausalLM['initCache']>, target: number, tokens: number[], points: Array<[number, number]>): void {
  while (cache.position < target) {
    const T = Math.min(CHUNK - (cache.position % CHUNK) || CHUNK, target - cache.position);
    const ids = tf.tensor2d([tokens.slice(cache.position, cache.position + T)], [1, T], 'int32');
    const logits = model.step(ids, cache);
    logits.dataSync(); // wait for the backend
    tf.dispose([ids, logits]);
    points.push([cache.position, cache.bytes()]);
  }
}

function measure(name: string): Row {
  const { config, formula } = LAYOUTS[name];
  const registry = createRegistry().use(standard, mqa, cla, mlkv, tova, valueResidual);
  const model = buildModel(registry, { ...SHAPE, ...config } as ModelConfigInput) as CausalLM;
  const cache = model.initCache(1);
  const row: Row = { layout: name, formula, points: [], measured: {}, extrapolated: {}, bytesPerToken: NaN, lineError: NaN, prefillSeconds: {}, decodeTokensPerSecond: null };
  const tokens = rand(Math.max(...CONTEXTS) + 1, 7);
  try {
    const decodeAt = CONTEXTS.includes(DECODE_AT) ? DECODE_AT : undefined;
    let elapsed = 0;
    for (const context of CONTEXTS) {
      const t0 = performance.now();
      prefillTo(model, cache, context, tokens, row.points);
      elapsed += (performance.now() - t0) / 1000;
      row.prefillSeconds[context] = elapsed;
      row.measured[context] = cache.bytes();
      if (context === decodeAt && DECODE_STEPS > 0) {
        // Greedy decoding from the 1k prefix on a copy of nothing: the decoded tokens stay in the
        // cache, so later contexts are reached by prefilling fewer prompt tokens.
        const next = (logits: tf.Tensor) => tf.tidy(() => tf.argMax(logits.reshape([-1, SHAPE.vocab]).slice([logits.shape[1]! - 1, 0], [1, SHAPE.vocab]), -1).reshape([1, 1]));
        let ids = tf.tensor2d([[tokens[context]]], [1, 1], 'int32');
        const warm = model.step(ids, cache); // warm-up step, not timed
        ids.dispose();
        ids = next(warm) as tf.Tensor2D;
        warm.dispose();
        const t1 = performance.now();
        for (let i = 0; i < DECODE_STEPS; i++) {
          const logits = model.step(ids, cache);
          const n = next(logits) as tf.Tensor2D;
          n.dataSync();
          tf.dispose([ids, logits]);
          ids = n;
        }
        row.decodeTokensPerSecond = DECODE_STEPS / ((performance.now() - t1) / 1000);
        ids.dispose();
      }
    }
    if (CONTEXTS.length < 2) return row; // one context: no line to fit
    const [c1, c2] = CONTEXTS.slice(-2).map((c) => [c, row.measured[c]] as const);
    const slope = (c2[1] - c1[1]) / (c2[0] - c1[0]);
    // The line through the two largest contexts, checked on chunk points ≥ 1k that precede no decode
    // (decoded tokens shift positions; every point records its true position, so all points count).
    const at = (t: number) => c2[1] + slope * (t - c2[0]);
    row.bytesPerToken = slope;
    row.lineError = Math.max(0, ...row.points.filter(([t]) => t >= 1024).map(([t, b]) => Math.abs(b - at(t))));
    for (const context of EXTRAPOLATE) row.extrapolated[context] = Math.round(at(context));
  } catch (error) {
    row.error = String((error as Error)?.message ?? error).slice(0, 300);
  } finally {
    cache.dispose();
    model.dispose();
  }
  return row;
}

async function main(): Promise<void> {
  await useBackend('wasm');
  const names = arg('layouts', Object.keys(KEYS).join(',')).split(',').map((k) => KEYS[k] ?? k);
  const loadStart = loadavg();
  const rows: Row[] = [];
  for (const name of names) {
    const started = performance.now();
    const row = measure(name);
    rows.push(row);
    const ctx = CONTEXTS.map((c) => `${c}: ${row.measured[c] ?? '-'}`).join(', ');
    const ext = EXTRAPOLATE.map((c) => `${c}: ${row.extrapolated[c] ?? '-'} (line)`).join(', ');
    console.log(
      `${name.padEnd(27)} B/token ${row.bytesPerToken}  ${ctx}, ${ext}  line error ${row.lineError}  ` +
        `decode ${row.decodeTokensPerSecond?.toFixed(1) ?? '-'} tok/s  ${((performance.now() - started) / 1000).toFixed(1)} s` +
        (row.error ? `  ERROR ${row.error}` : ''),
    );
  }
  const report = {
    date: new Date().toISOString(),
    command: `node --conditions=source --import tsx tools/experiments/kv-cache/cache-bytes.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()} ${arch()}`,
    node: process.version,
    backend: tf.getBackend(),
    loadAverage: { start: loadStart, end: loadavg() },
    shape: { ...SHAPE, headDim: HEAD_DIM, batch: 1, feedforward: 'mlp', positional: 'sinusoidal' },
    prefillChunk: CHUNK,
    decode: { at: DECODE_AT, steps: DECODE_STEPS, note: 'one warm-up step, then DECODE_STEPS timed greedy steps; noisy on a shared machine' },
    rows,
  };
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${OUT}`);
}

await main();
