/**
 * Decoding cache size and decode speed per head layout / KV cache: one fixed model shape
 * (4 layers, dModel 128, 8 query heads of Dh = 16, GELU MLP, sinusoidal positions, vocab 64,
 * batch 1, wasm backend), built with each layout. The prompt is prefilled through `model.step` in
 * chunks and `ModelCache.bytes()` is read after every chunk. At every context in `--contexts`,
 * decoding is timed: one untimed warm-up step, then `--decode-steps` greedy steps of one token,
 * each timed on its own (median reported).
 *
 *   node --conditions=source --import tsx tools/experiments/kv-cache/cache-bytes.ts \
 *     [--contexts 1024,4096,16384] [--extrapolate ''] [--chunk 256] [--decode-steps 8] \
 *     [--real-prefill-to 4096] [--fill-chunk 2048] [--layouts mha,mqa,...] [--out tools/experiments/kv-cache/results.json]
 *
 * Prefill beyond `--real-prefill-to` tokens is a FAST FILL: the same `model.step` chunks, but
 * with the dense kernel's output replaced by zeros, so the layers still project and append real
 * K/V (through each cache's own append: GEAR compresses, CLA/MLKV share) without paying the
 * quadratic attention. Cache bytes and the cost of a decoding step depend on the cache's shapes,
 * not on the cached values, so both are still measured; the decode steps themselves use the real
 * kernel. TOVA (whose evictions need real attention weights, and whose prefill is cheap since it
 * holds at most budget + chunk tokens) always prefills for real.
 *
 * Bytes at the `--extrapolate` contexts (none by default) are NOT measured: they come from the
 * straight line bytes(T) = a + b·T through the two largest measured contexts.
 */
import { writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { createRegistry, tf, useBackend, type AttentionContext, type Tensor } from '@weft/core';
import { buildModel, DenseAttention, standard, type CausalLM, type ModelConfigInput } from '@weft/nn';
import mqa from '@weft/heads-mqa';
import cla from '@weft/heads-cla';
import mlkv from '@weft/heads-mlkv';
import tova from '@weft/kv-tova';
import gear from '@weft/kv-gear';
import valueResidual from '@weft/heads-value-residual';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const CONTEXTS = arg('contexts', '1024,4096,16384').split(',').map(Number).sort((a, b) => a - b);
const EXTRAPOLATE = arg('extrapolate', '').split(',').filter(Boolean).map(Number);
const CHUNK = Number(arg('chunk', '256'));
const DECODE_STEPS = Number(arg('decode-steps', '8'));
const OUT = arg('out', 'tools/experiments/kv-cache/results.json');
const REAL_PREFILL_TO = Number(arg('real-prefill-to', '4096'));
/** Chunk of the fast fill (no L×L attention there, so larger chunks cost no memory). */
const FILL_CHUNK = Number(arg('fill-chunk', '2048'));

const SHAPE = { vocab: 64, dModel: 128, layers: 4, heads: 8, maxLen: Math.max(16384, ...CONTEXTS) + 4 * (DECODE_STEPS + 1) * 2 + 64, seed: 0 } as const;
const HEAD_DIM = SHAPE.dModel / SHAPE.heads;

/** The layout / cache settings per row. */
const LAYOUTS: Record<string, { config: Partial<ModelConfigInput>; formula: string; realPrefillOnly?: boolean }> = {
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
    formula: 'layers · (2·H·min(T, budget)·Dh + min(T, budget)) · 4',
    realPrefillOnly: true,
  },
  'gear (4-bit, rank 2, 2% outliers, buffer 16)': {
    config: { kvCache: { kind: 'gear', bits: 4, rank: 2, outlierPercent: 2, buffer: 16 } },
    formula: 'per 16-token chunk and head: quantised codes + scales + rank-2 factors + outliers; buffer and positions exact',
  },
  svformer: {
    config: { headLayout: { kind: 'svformer' }, kvCache: { kind: 'svformer' } },
    formula: '(layers · (H·Dh + 1) + H·Dh) · 4 per token (keys and positions per layer, values once)',
  },
};
const KEYS: Record<string, string> = {
  mha: 'mha',
  mqa: 'mqa',
  gqa: 'gqa (kvHeads 2)',
  cla: 'cla (sharing 2)',
  mlkv: 'mlkv (groups 2, kvHeads 1)',
  tova: 'tova (budget 256)',
  gear: 'gear (4-bit, rank 2, 2% outliers, buffer 16)',
  svformer: 'svformer',
};

interface Row {
  layout: string;
  formula: string;
  /** bytes after each prefill chunk: [context, bytes]. */
  points: Array<[number, number]>;
  measured: Record<string, number>;
  extrapolated: Record<string, number>;
  /** Bytes per token between the two largest measured contexts. */
  bytesPerToken: number;
  /** Cumulative prefill seconds when each context was reached (decode time excluded). */
  prefillSeconds: Record<string, number>;
  /** How each context was reached from the previous one: "real" or "fast fill" (zeroed attention output). */
  prefillMode: Record<string, 'real' | 'fast fill'>;
  /** Median ms per decoded token at each context, and every step's time. */
  decodeMs: Record<string, number>;
  decodeStepsMs: Record<string, number[]>;
  loadAverage: Record<string, number[]>;
  error?: string;
}

// Swap between @weft/nn's DenseAttention and the fast fill's zeroed output.
type Attend = (q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext) => Tensor;
type Weights = (q: Tensor, k: Tensor, ctx: AttentionContext) => Tensor;
const shipped = { attend: DenseAttention.prototype.attend as Attend, weights: DenseAttention.prototype.weights as Weights };
function useKernel(k: typeof shipped): void {
  DenseAttention.prototype.attend = k.attend;
  DenseAttention.prototype.weights = k.weights;
}
/** Fast fill only: the kernel's output replaced by zeros [B, H, T, Dh] (Dv = Dh here). */
const zeroAttention = { attend: ((q: Tensor) => tf.zerosLike(q)) as Attend, weights: shipped.weights };
useKernel(shipped);

function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 8) % SHAPE.vocab);
}

function prefillTo(model: CausalLM, cache: ReturnType<CausalLM['initCache']>, target: number, tokens: number[], points: Array<[number, number]>, chunk: number): void {
  while (cache.position < target) {
    const T = Math.min(chunk, target - cache.position);
    const ids = tf.tensor2d([tokens.slice(cache.position, cache.position + T)], [1, T], 'int32');
    const logits = model.step(ids, cache);
    logits.dataSync(); // wait for the backend
    tf.dispose([ids, logits]);
    points.push([cache.position, cache.bytes()]);
  }
}

/** One warm-up step, then `steps` greedy steps timed one by one; returns their ms. */
function decode(model: CausalLM, cache: ReturnType<CausalLM['initCache']>, first: number, steps: number): number[] {
  const next = (logits: Tensor) => tf.tidy(() => tf.reshape(tf.argMax(tf.reshape(logits, [-1, SHAPE.vocab]), -1), [1, 1]));
  const warm = model.step(tf.tensor2d([[first]], [1, 1], 'int32'), cache);
  let ids = next(warm);
  warm.dispose();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const logits = model.step(ids, cache);
    const n = next(logits);
    n.dataSync();
    times.push(performance.now() - t0);
    tf.dispose([ids, logits]);
    ids = n;
  }
  ids.dispose();
  return times;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function measure(name: string): Row {
  const { config, formula } = LAYOUTS[name];
  const registry = createRegistry().use(standard, mqa, cla, mlkv, tova, gear, valueResidual);
  const model = buildModel(registry, { ...SHAPE, ...config } as ModelConfigInput) as CausalLM;
  const cache = model.initCache(1);
  const row: Row = {
    layout: name, formula, points: [], measured: {}, extrapolated: {}, bytesPerToken: NaN, prefillSeconds: {},
    decodeMs: {}, decodeStepsMs: {}, loadAverage: {}, prefillMode: {},
  };
  const tokens = rand(Math.max(...CONTEXTS) + 1, 7);
  try {
    let elapsed = 0;
    for (const context of CONTEXTS) {
      const fast = context > REAL_PREFILL_TO && !LAYOUTS[name].realPrefillOnly;
      row.prefillMode[context] = fast ? 'fast fill' : 'real';
      if (fast) useKernel(zeroAttention);
      const t0 = performance.now();
      prefillTo(model, cache, context, tokens, row.points, fast ? FILL_CHUNK : CHUNK);
      elapsed += (performance.now() - t0) / 1000;
      useKernel(shipped);
      row.prefillSeconds[context] = elapsed;
      row.measured[context] = cache.bytes();
      row.loadAverage[context] = loadavg();
      if (DECODE_STEPS > 0) {
        // Decoded tokens stay in the cache (a few per context), so the next context is reached by
        // prefilling that many fewer prompt tokens; bytes are read before decoding.
        const times = decode(model, cache, tokens[context], DECODE_STEPS);
        row.decodeStepsMs[context] = times.map((t) => Math.round(t * 100) / 100);
        row.decodeMs[context] = median(times);
      }
      console.log(
        `  ${name} @${context}: ${row.measured[context]} B, prefill ${elapsed.toFixed(1)} s (${row.prefillMode[context]}), decode ${row.decodeMs[context]?.toFixed(2)} ms/token, load ${loadavg()[0].toFixed(2)}`,
      );
    }
    if (CONTEXTS.length < 2) return row;
    const [c1, c2] = CONTEXTS.slice(-2).map((c) => [c, row.measured[c]] as const);
    const slope = (c2[1] - c1[1]) / (c2[0] - c1[0]);
    row.bytesPerToken = slope;
    for (const context of EXTRAPOLATE) row.extrapolated[context] = Math.round(c2[1] + slope * (context - c2[0]));
  } catch (error) {
    row.error = String((error as Error)?.message ?? error).slice(0, 300);
  } finally {
    useKernel(shipped);
    cache.dispose();
    model.dispose();
  }
  return row;
}

async function main(): Promise<void> {
  await useBackend('wasm');
  const names = arg('layouts', 'mha,mqa,gqa,cla,mlkv,tova,gear').split(',').map((k) => KEYS[k] ?? k);
  const loadStart = loadavg();
  const started = new Date().toISOString();
  const rows: Row[] = [];
  const write = () => {
    const report = {
      date: started,
      ended: new Date().toISOString(),
      command: `node --conditions=source --import tsx tools/experiments/kv-cache/cache-bytes.ts ${process.argv.slice(2).join(' ')}`.trim(),
      machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()} ${arch()}`,
      node: process.version,
      backend: tf.getBackend(),
      loadAverage: { start: loadStart, end: loadavg() },
      shape: { ...SHAPE, headDim: HEAD_DIM, batch: 1, feedforward: 'mlp', positional: 'sinusoidal' },
      prefillChunk: CHUNK,
      realPrefillTo: REAL_PREFILL_TO,
      fillChunk: FILL_CHUNK,
      fastFill: 'contexts above realPrefillTo are reached by model.step chunks with the attention output zeroed (K/V still projected and appended through each cache); TOVA always prefills for real',
      decode: { steps: DECODE_STEPS, note: 'at each context: one warm-up step, then DECODE_STEPS greedy steps timed one by one; median ms/token; noisy on a shared machine' },
      rows,
    };
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  };
  for (const name of names) {
    const t0 = performance.now();
    const row = measure(name);
    rows.push(row);
    write(); // partial results survive an interrupted run
    console.log(`${name}: B/token ${row.bytesPerToken}, ${((performance.now() - t0) / 1000).toFixed(1)} s${row.error ? `  ERROR ${row.error}` : ''}`);
  }
  console.log(`wrote ${OUT}`);
}

await main();
