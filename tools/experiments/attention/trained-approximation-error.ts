/**
 * Relative error of the approximate / softmax-free attention kernels against exact softmax
 * attention on **trained** inputs with **sharp** attention: the q, k, v that a small causal
 * transformer trained on a copy (induction) task feeds its attention kernels. The random-input
 * counterpart is approximation-error.ts; both use the kernels, metric and `uniform` reference of
 * kernels.ts.
 *
 * Task (generable at every L): a row is a run of copy blocks `x1 … xM SEP x1 … xM`, each with its
 * own M ∈ [M_MIN, M_MAX] and M distinct symbols drawn from SYMBOLS, repeated until the row has
 * L + 1 tokens (the last block is cut off). Inputs are the first L tokens, targets the next token,
 * and the loss counts only the targets of the second copies (SEP → x1, x1 → x2, …). Since M
 * varies, no fixed offset solves it: the model has to find the current token's occurrence in the
 * first copy and read the token after it, an induction head (Olsson et al. 2022) whose attention
 * is one-hot. Symbols recur across blocks, so the nearest occurrence must win.
 *
 * 1. Train a causal transformer on it: dModel 64, 2 layers, H = 2 heads of Dh = 32 (the random
 *    experiment's H and Dh), MLP width 64, dense softmax attention, rotary positions on half of
 *    each head (@weft/pos-rope, fraction 0.5: the unrotated half lets content matching work at
 *    offsets longer than any seen in training; q, k are captured after the rotation, exactly as
 *    the kernel sees them). Each step draws its length L from TRAIN_LENS, with TOKENS / L rows;
 *    AdamW, tfjs wasm backend.
 * 2. Check it learned: next-token accuracy on the second copies at every L of LENGTHS, on fresh
 *    rows (L = 512 and 1024 are longer than any training row).
 * 3. Run the model once on one fresh row (B = 1) at each L and capture every layer's q, k, v
 *    [1, H, L, Dh] and logit scale as they enter the dense kernel (a wrapper around
 *    DenseAttention.prototype.attend); report each head's causal softmax row entropy / log(i+1).
 * 4. On the tfjs cpu backend, as in the random experiment: err = ‖O − O_softmax‖_F / ‖O_softmax‖_F
 *    per layer (and the error after the best rescaling), against the dense kernel with the same
 *    causality (bidirectional-only kernels are measured bidirectionally on the same q, k, v,
 *    although the model was trained causally). Kernels are freshly created with their default
 *    initialisation (learned parts untrained), exactly as in the random experiment.
 *
 * Writes tools/experiments/attention/approximation-error-trained.json. Run from the repo root:
 *   node --conditions=source --import tsx tools/experiments/attention/trained-approximation-error.ts
 *     [--steps 3000] [--out approximation-error-trained.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Trainer } from '../../../packages/train/src/index.ts';
import { CASES, kernelRegistry, relErr, uniformAttention } from './kernels.ts';
import {
  attentionContext,
  core,
  loadPlugin,
  machine,
  nn,
  type AttentionContext,
  type AttentionKernel,
  type Tensor,
} from './load.ts';

const { tf } = core;
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '3000' },
    out: { type: 'string', default: 'approximation-error-trained.json' },
  },
});
const STEPS = Number(values.steps);
if (!Number.isInteger(STEPS) || STEPS < 1) {
  throw new Error(`--steps: expected a whole number >= 1 such as 3000; got "${values.steps}".`);
}
const SEED = 0;
const H = 2;
const DH = 32;
/** Alphabet of the copied symbols. */
const SYMBOLS = 512;
const SEP = 1;
const FIRST_SYMBOL = 2;
/** Copy block sizes M (uniform). */
const M_MIN = 16;
const M_MAX = 48;
const TRAIN_LENS = [64, 128, 256];
/** Tokens per training batch: B = TOKENS / L rows at length L. */
const TOKENS = 1024;
const LENGTHS = [64, 256, 512, 1024];
/** Rows scored per length for the accuracy check (fewer at the long lengths, same token count order). */
const EVAL_ROWS: Record<number, number> = { 64: 64, 256: 16, 512: 8, 1024: 4 };
const MODEL = {
  vocab: FIRST_SYMBOL + SYMBOLS,
  dModel: H * DH,
  layers: 2,
  heads: H,
  maxLen: Math.max(...LENGTHS),
  positional: { kind: 'rope', fraction: 0.5 },
  feedforward: { kind: 'mlp', mult: 1 },
  seed: SEED,
} as const;
const TRAINER = {
  lr: 3e-3,
  warmupSteps: 100,
  schedule: 'cosine',
  weightDecay: 0.01,
  clipNorm: 1,
  seed: SEED,
} as const;

// ---- data --------------------------------------------------------------------------------
/** `rows` rows of length L made of copy blocks: inputs, targets and the loss mask of the second copies. */
function copyRows(rng: core.Rng, rows: number, L: number) {
  const inputs = new Int32Array(rows * L);
  const targets = new Int32Array(rows * L);
  const lossMask = new Float32Array(rows * L);
  const alphabet = Array.from({ length: SYMBOLS }, (_, i) => FIRST_SYMBOL + i);
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    const mask: number[] = [];
    while (row.length < L + 1) {
      const M = M_MIN + rng.int(M_MAX - M_MIN + 1);
      const data = rng.shuffle(alphabet).slice(0, M);
      row.push(...data, SEP, ...data);
      mask.push(...new Array<number>(M + 1).fill(0), ...new Array<number>(M).fill(1)); // answers: the second copy
    }
    for (let t = 0; t < L; t++) {
      inputs[r * L + t] = row[t];
      targets[r * L + t] = row[t + 1];
      lossMask[r * L + t] = mask[t + 1];
    }
  }
  return { inputs, targets, lossMask };
}
const toBatch = (rows: ReturnType<typeof copyRows>, B: number, L: number): core.Batch => ({
  inputs: tf.tensor2d(rows.inputs, [B, L], 'int32'),
  targets: tf.tensor2d(rows.targets, [B, L], 'int32'),
  lossMask: tf.tensor2d(rows.lossMask, [B, L], 'float32'),
});

/** Training batches: each step draws its length from TRAIN_LENS; resumable like any DataSource. */
class CopySource implements core.DataSource {
  private rng = new core.Rng(SEED).fork('train');
  next(): core.Batch {
    const L = TRAIN_LENS[this.rng.int(TRAIN_LENS.length)];
    const B = TOKENS / L;
    return toBatch(copyRows(this.rng, B, L), B, L);
  }
  state(): unknown {
    return this.rng.state();
  }
  restore(state: unknown): void {
    this.rng = core.Rng.fromState(state as never);
  }
}

// ---- 1. train ------------------------------------------------------------------------------
await core.useBackend('wasm');
const rope = await loadPlugin('pos-rope');
if (!rope) throw new Error('@weft/pos-rope did not load; the model needs rotary positions.');
const trainRegistry = core.createRegistry().use(nn.standard, rope as never);
const model = nn.buildModel(trainRegistry, MODEL) as nn.CausalLM;
const progress: core.Progress = {
  start: () => ({
    update(step, fields) {
      if (step % 50 === 0)
        console.log(`step ${step}: train loss ${fields?.loss} (${new Date().toISOString()})`);
    },
    stop() {},
  }),
};
const trainer = new Trainer(model, { ...TRAINER, progress });
const t0 = performance.now();
const summary = await trainer.train(new CopySource(), { steps: STEPS });
const trainSeconds = (performance.now() - t0) / 1000;

// ---- 2. accuracy ---------------------------------------------------------------------------
/** Next-token accuracy (argmax) on the second copies of EVAL_ROWS[L] fresh rows of length L. */
function accuracy(L: number): number {
  model.eval();
  const rows = EVAL_ROWS[L];
  const data = copyRows(new core.Rng(SEED).fork(`eval ${L}`), rows, L);
  let hit = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const predicted = tf.tidy(() => {
      const ids = tf.tensor2d(data.inputs.subarray(r * L, (r + 1) * L), [1, L], 'int32');
      const logits = model.forward(ids, { training: false, rng: new core.Rng(SEED) });
      return tf.argMax(logits, -1).dataSync();
    });
    for (let t = 0; t < L; t++) {
      if (data.lossMask[r * L + t] === 0) continue;
      total++;
      if (predicted[t] === data.targets[r * L + t]) hit++;
    }
  }
  return hit / total;
}
const accuracies: Record<string, number> = {};
for (const L of LENGTHS) accuracies[`L${L}`] = accuracy(L);
console.log(
  `trained ${STEPS} steps in ${trainSeconds.toFixed(0)} s; last train loss ${summary.lastLoss.toFixed(3)}; second-copy accuracy ${JSON.stringify(accuracies)}`,
);
// ---- 3. capture q, k, v --------------------------------------------------------------------
interface Captured {
  layer: number;
  shape: number[];
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  scale: number;
}
let captured: Captured[] | null = null;
const originalAttend = nn.DenseAttention.prototype.attend;
nn.DenseAttention.prototype.attend = function attend(
  this: InstanceType<typeof nn.DenseAttention>,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  ctx: AttentionContext,
): Tensor {
  if (captured) {
    if (typeof ctx.scale !== 'number')
      throw new Error('expected a number logit scale (no logitScale encoding is used)');
    captured.push({
      layer: ctx.layerIndex,
      shape: q.shape as number[],
      q: q.dataSync() as Float32Array,
      k: k.dataSync() as Float32Array,
      v: v.dataSync() as Float32Array,
      scale: ctx.scale,
    });
  }
  return originalAttend.call(this, q, k, v, ctx);
};
const capturedByLength = new Map<number, Captured[]>();
/** Per captured row: 1 at the query positions whose target is a second-copy token. */
const answerMasks = new Map<number, Float32Array>();
for (const L of LENGTHS) {
  captured = [];
  tf.tidy(() => {
    const row = copyRows(new core.Rng(SEED).fork(`capture ${L}`), 1, L);
    answerMasks.set(L, row.lossMask);
    const ids = tf.tensor2d(row.inputs, [1, L], 'int32');
    model.forward(ids, { training: false, rng: new core.Rng(SEED) });
  });
  capturedByLength.set(L, captured);
  captured = null;
}
nn.DenseAttention.prototype.attend = originalAttend;
model.dispose();

// ---- 4. measure on the cpu backend ---------------------------------------------------------
await core.useBackend('cpu');
const { registry, loaded } = await kernelRegistry();
const dims = { heads: H, headDim: DH, dModel: H * DH, layers: 1, maxLen: MODEL.maxLen };
const dense = registry.create('attention', { kind: 'dense' }, { dims });
const layers = [...new Set(capturedByLength.get(LENGTHS[0])!.map((c) => c.layer))].sort();

/** q, k, v tensors and scale of layer `layer` at length L. */
const inputs = new Map<string, { q: Tensor; k: Tensor; v: Tensor; scale: number }>();
for (const [L, list] of capturedByLength) {
  for (const c of list) {
    inputs.set(`${c.layer}/${L}`, {
      q: tf.tensor(c.q, c.shape),
      k: tf.tensor(c.k, c.shape),
      v: tf.tensor(c.v, c.shape),
      scale: c.scale,
    });
  }
}
const refs = new Map<string, Tensor>();
const reference = (layer: number, L: number, causal: boolean): Tensor => {
  const key = `${layer}/${L}/${causal}`;
  if (!refs.has(key)) {
    const { q, k, v, scale } = inputs.get(`${layer}/${L}`)!;
    refs.set(key, tf.keep(dense.attend(q, k, v, attentionContext(causal, scale, layer))));
  }
  return refs.get(key)!;
};

/**
 * How peaked the trained attention is, per head: the causal softmax row's entropy divided by
 * that of the uniform row, log(i + 1) (1 = uniform, 0 = one-hot), averaged over the queries
 * i ≥ 1 (`all`) and over the queries whose target is a second-copy token (`copy`, where the
 * induction lookup happens).
 */
const relativeEntropy = (layer: number, L: number): { all: number[]; copy: number[] } =>
  tf.tidy(() => {
    const { q, k, scale } = inputs.get(`${layer}/${L}`)!;
    const p = (dense as unknown as InstanceType<typeof nn.DenseAttention>).weights(
      q,
      k,
      attentionContext(true, scale, layer),
    ); // [1, H, L, L]
    const entropy = tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-30))), -1)); // [1, H, L]
    const maxEntropy = tf.log(tf.range(1, L + 1)).reshape([1, 1, L]);
    const ratio = tf.div(
      entropy.slice([0, 0, 1], [-1, -1, L - 1]),
      maxEntropy.slice([0, 0, 1], [-1, -1, L - 1]),
    ); // [1, H, L - 1], query i = index + 1
    const all = tf.mean(ratio, [0, 2]).arraySync() as number[]; // [H]
    const answers = tf.tensor3d(answerMasks.get(L)!.subarray(1), [1, 1, L - 1]); // query i = index + 1
    const copy = tf.div(tf.sum(tf.mul(ratio, answers), [0, 2]), tf.sum(answers)).arraySync() as number[];
    return { all, copy };
  });
const attentionStats: Record<string, Record<string, { all: number[]; copy: number[] }>> = {};
for (const layer of layers) {
  attentionStats[`layer ${layer}`] = {};
  for (const L of LENGTHS) attentionStats[`layer ${layer}`][`L${L}`] = relativeEntropy(layer, L);
}
for (const layer of layers) {
  for (const L of LENGTHS) {
    const { all, copy } = attentionStats[`layer ${layer}`][`L${L}`];
    console.log(
      `entropy / log(i+1), layer ${layer}, L=${L}: all queries ${all.map((x) => x.toFixed(3)).join(' / ')}; second-copy queries ${copy.map((x) => x.toFixed(3)).join(' / ')} (per head)`,
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, unknown>[] = [];
for (const c of [
  { label: 'dense (softmax reference)', plugin: '', config: { kind: 'dense' } },
  ...CASES.filter((x) => loaded.has(x.plugin)),
  { label: 'uniform (reference)', plugin: '', config: { kind: 'uniform' } },
]) {
  let kernel: AttentionKernel | undefined;
  let modes = [true, false];
  if (c.config.kind === 'dense') {
    kernel = dense;
    modes = [true];
  } else if (c.plugin) {
    kernel = registry.create('attention', c.config as never, {
      dims,
      rng: new core.Rng(2026).fork(c.label),
    });
    modes = [
      registry.capabilities(
        'attention',
        registry.validate('attention', c.config as never, 'attention') as never,
      ).causal,
    ];
  }
  const errors: Record<string, number> = {};
  const rescaled: Record<string, number> = {};
  const perLayer: Record<string, Record<string, number>> = {};
  const perLayerRescaled: Record<string, Record<string, number>> = {};
  let ms: number | null = null;
  for (const mode of modes) {
    for (const L of LENGTHS) {
      const key = c.plugin ? `L${L}` : `${mode ? 'causal' : 'bidirectional'} L${L}`;
      const errs: number[] = [];
      const scaled: number[] = [];
      try {
        for (const layer of layers) {
          const { q, k, v, scale } = inputs.get(`${layer}/${L}`)!;
          const [err, errScaled] = tf.tidy(() => {
            const o = kernel
              ? kernel.attend(q, k, v, attentionContext(mode, scale, layer))
              : uniformAttention(v, mode);
            return relErr(o, reference(layer, L, mode));
          });
          (perLayer[`layer ${layer}`] ??= {})[key] = err;
          (perLayerRescaled[`layer ${layer}`] ??= {})[key] = errScaled;
          errs.push(err);
          scaled.push(errScaled);
        }
        errors[key] = errs.reduce((a, b) => a + b, 0) / errs.length;
        rescaled[key] = scaled.reduce((a, b) => a + b, 0) / scaled.length;
        console.log(
          `${c.label.padEnd(38)} ${mode ? 'causal' : 'bidir.'} L=${String(L).padEnd(5)} err=${errs.map((e) => e.toExponential(3)).join(' / ')} rescaled=${scaled.map((e) => e.toFixed(4)).join(' / ')}`,
        );
      } catch (error) {
        console.log(`${c.label} L=${L} threw: ${(error as Error).message}`);
      }
    }
  }
  // Forward time at the largest length, layer 0: one warm-up call, then the median of 3.
  if (kernel) {
    const L = Math.max(...LENGTHS);
    const { q, k, v, scale } = inputs.get(`${layers[0]}/${L}`)!;
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      tf.tidy(() => kernel!.attend(q, k, v, attentionContext(modes[0], scale)).dataSync());
      if (i > 0) times.push(performance.now() - start);
    }
    ms = median(times);
  }
  rows.push({
    label: c.label,
    plugin: c.plugin ? `@weft/${c.plugin}` : c.config.kind === 'dense' ? '@weft/nn' : null,
    config: c.config,
    mode: c.plugin || c.config.kind === 'dense' ? (modes[0] ? 'causal' : 'bidirectional') : 'both',
    errors,
    errorsAfterBestRescale: rescaled,
    perLayer,
    perLayerAfterBestRescale: perLayerRescaled,
    cpuMsAtL1024: ms,
  });
}

writeFileSync(
  new URL(values.out!, import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: await machine(),
      backend: 'training and capture: wasm; kernel measurements: cpu',
      command:
        'node --conditions=source --import tsx tools/experiments/attention/trained-approximation-error.ts' +
        (STEPS !== 3000 ? ` --steps ${STEPS}` : ''),
      model: MODEL,
      task: {
        kind: 'block copy (induction)',
        row: 'copy blocks x1 … xM SEP x1 … xM (M uniform in [mMin, mMax], M distinct symbols per block) until L + 1 tokens; loss and accuracy on the targets of the second copies',
        mMin: M_MIN,
        mMax: M_MAX,
        symbols: SYMBOLS,
        trainLengths: TRAIN_LENS,
      },
      trainer: { ...TRAINER, steps: STEPS, tokensPerBatch: TOKENS },
      training: {
        seconds: trainSeconds,
        lastTrainLoss: summary.lastLoss,
        accuracy: accuracies,
        note: `accuracy: argmax next-token accuracy on the second-copy targets of fresh rows (${JSON.stringify(EVAL_ROWS)} rows per length)`,
      },
      setup: {
        lengths: LENGTHS,
        inputs:
          'q, k (after rotary) and v of each layer (dense kernel input), captured from one forward pass over one fresh row of length L (B = 1)',
        reference: '@weft/nn standard dense kernel, same causality, same q, k, v, captured scale',
        metric: '‖O − O_softmax‖_F / ‖O_softmax‖_F, per layer; `errors` is the mean over layers',
        metricAfterRescale:
          'min over α of ‖αO − O_softmax‖_F / ‖O_softmax‖_F = sqrt(1 − cos²(O, O_softmax))',
        timing:
          'cpuMsAtL1024: median of 3 forward calls (after one warm-up) at L = 1024, layer 0 inputs, cpu backend, shared machine: indicative only',
      },
      attentionEntropyRelativeToUniform: {
        note: 'per head: causal softmax row entropy / log(i + 1), mean over queries i >= 1 (all) and over the queries whose target is a second-copy token (copy); 1 = uniform, 0 = one-hot',
        ...attentionStats,
      },
      rows,
    },
    null,
    2,
  ) + '\n',
);
