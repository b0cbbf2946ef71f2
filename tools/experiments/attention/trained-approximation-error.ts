/**
 * Relative error of the approximate / softmax-free attention kernels against exact softmax
 * attention on **trained** inputs: the q, k, v that a small trained causal LM actually feeds its
 * attention kernels. The random-input counterpart is approximation-error.ts; both use the
 * kernels, metric and `uniform` reference of kernels.ts.
 *
 * 1. Train a byte-level causal LM on the bundled Brown corpus (@weft/tasks loadBrownCorpus,
 *    ByteTokenizer, last 5% held out): dModel 64, 2 layers, H = 2 heads of Dh = 32 (the random
 *    experiment's H and Dh), dense softmax attention, **no positional encoding**
 *    (`positional: 'none'`: position comes only from the causal mask, so the model runs at any
 *    length and q, k are exactly what the kernel sees, with no rotation). Train length 256,
 *    batch 4, AdamW lr 3e-3, 50 warmup steps, cosine decay, tfjs wasm backend.
 * 2. Check it learned: validation loss at 64, 256 and 1024 against the add-one-smoothed unigram
 *    and bigram byte models of the training split, on the same targets.
 * 3. Run the model once over the first L + 1 validation bytes (one window, B = 1) for
 *    L ∈ {64, 256, 512, 1024} and capture every layer's q, k, v [1, H, L, Dh] and logit scale
 *    as they enter the dense kernel (a wrapper around DenseAttention.prototype.attend).
 * 4. On the tfjs cpu backend, as in the random experiment: err = ‖O − O_softmax‖_F / ‖O_softmax‖_F
 *    per layer (and the error after the best rescaling), against the dense kernel with the same
 *    causality (bidirectional-only kernels are measured bidirectionally on the same q, k, v,
 *    although the model was trained causally). Kernels are freshly created with their default
 *    initialisation (learned parts untrained), exactly as in the random experiment.
 *
 * Writes tools/experiments/attention/approximation-error-trained.json. Run from the repo root:
 *   node --conditions=source --import tsx tools/experiments/attention/trained-approximation-error.ts
 *     [--steps 300]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tasks from '../../../packages/tasks/src/index.ts';
import { loadBrownCorpus } from '../../../packages/tasks/src/node/index.ts';
import { Trainer } from '../../../packages/train/src/index.ts';
import { CASES, kernelRegistry, relErr, uniformAttention } from './kernels.ts';
import {
  attentionContext,
  core,
  machine,
  nn,
  type AttentionContext,
  type AttentionKernel,
  type Tensor,
} from './load.ts';

const { tf } = core;
const { values } = parseArgs({
  options: { steps: { type: 'string', default: '300' } },
});
const STEPS = Number(values.steps);
if (!Number.isInteger(STEPS) || STEPS < 1) {
  throw new Error(`--steps: expected a whole number >= 1 such as 300; got "${values.steps}".`);
}
const SEED = 0;
const H = 2;
const DH = 32;
const TRAIN_LEN = 256;
const BATCH = 4;
const LENGTHS = [64, 256, 512, 1024];
const EVAL_LENS = [64, 256, 1024];
/** Validation targets scored at every evaluation length (a multiple of 1024). */
const EVAL_TOKENS = 8192;
const MODEL = {
  vocab: 259,
  dModel: H * DH,
  layers: 2,
  heads: H,
  maxLen: Math.max(...LENGTHS),
  positional: { kind: 'none' },
  seed: SEED,
} as const;
const TRAINER = {
  lr: 3e-3,
  warmupSteps: 50,
  schedule: 'cosine',
  weightDecay: 0.01,
  clipNorm: 1,
  seed: SEED,
} as const;

// ---- data --------------------------------------------------------------------------------
await core.useBackend('wasm');
const text = await loadBrownCorpus();
const tokens = new tasks.ByteTokenizer().encode(text);
const { train, validation } = tasks.splitTrainValidation(tokens, 0.05);
const evalText = validation.subarray(0, EVAL_TOKENS + 1);

/** Add-one-smoothed unigram and bigram cross-entropy (nats/byte) on evalText[1 .. EVAL_TOKENS]. */
function ngramBaselines(): { unigram: number; bigram: number } {
  const V = MODEL.vocab;
  const uni = new Float64Array(V);
  const bi = new Float64Array(V * V);
  for (let i = 0; i < train.length; i++) {
    uni[train[i]]++;
    if (i > 0) bi[train[i - 1] * V + train[i]]++;
  }
  let unigram = 0;
  let bigram = 0;
  for (let t = 1; t <= EVAL_TOKENS; t++) {
    unigram -= Math.log((uni[evalText[t]] + 1) / (train.length + V));
    bigram -= Math.log((bi[evalText[t - 1] * V + evalText[t]] + 1) / (uni[evalText[t - 1]] + V));
  }
  return { unigram: unigram / EVAL_TOKENS, bigram: bigram / EVAL_TOKENS };
}
const baselines = ngramBaselines();
console.log(
  `baselines: unigram ${baselines.unigram.toFixed(3)}, bigram ${baselines.bigram.toFixed(3)} nats/byte`,
);

// ---- 1. train ------------------------------------------------------------------------------
const trainRegistry = core.createRegistry().use(nn.standard);
const model = nn.buildModel(trainRegistry, MODEL) as nn.CausalLM;
const progress: core.Progress = {
  start: () => ({
    update(step, fields) {
      if (step % 25 === 0)
        console.log(`step ${step}: train loss ${fields?.loss} (${new Date().toISOString()})`);
    },
    stop() {},
  }),
};
const trainer = new Trainer(model, { ...TRAINER, progress });
const source = new tasks.LanguageModelingSource(train, {
  batchSize: BATCH,
  seqLen: TRAIN_LEN,
  seed: SEED,
});
const t0 = performance.now();
const summary = await trainer.train(source, { steps: STEPS });
const trainSeconds = (performance.now() - t0) / 1000;

// ---- 2. validation loss --------------------------------------------------------------------
async function validationLoss(seqLen: number): Promise<number> {
  model.eval();
  let sum = 0;
  let rows = 0;
  const rng = new core.Rng(SEED);
  for (const batch of tasks.evalBatches(evalText, {
    batchSize: Math.max(1, 2048 / seqLen),
    seqLen,
  })) {
    const n = batch.inputs.shape[0];
    const loss = tf.tidy(() => model.loss(batch, { training: false, rng }));
    tf.dispose(Object.values(batch));
    sum += (await loss.data())[0] * n;
    loss.dispose();
    rows += n;
  }
  return sum / rows;
}
const validationLosses: Record<string, number> = {};
for (const L of EVAL_LENS) validationLosses[`L${L}`] = await validationLoss(L);
console.log(
  `trained ${STEPS} steps in ${trainSeconds.toFixed(0)} s; last train loss ${summary.lastLoss.toFixed(3)}; validation ${JSON.stringify(validationLosses)}`,
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
for (const L of LENGTHS) {
  captured = [];
  tf.tidy(() => {
    const ids = tf.tensor2d(Array.from(validation.subarray(0, L)), [1, L], 'int32');
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
 * How peaked the trained attention is: mean over heads and queries of the causal softmax
 * row's entropy divided by that of the uniform row, log(i + 1); 1 = uniform, 0 = one-hot.
 */
const relativeEntropy = (layer: number, L: number): number =>
  tf.tidy(() => {
    const { q, k, scale } = inputs.get(`${layer}/${L}`)!;
    const p = (dense as unknown as InstanceType<typeof nn.DenseAttention>).weights(
      q,
      k,
      attentionContext(true, scale, layer),
    ); // [1, H, L, L]
    const entropy = tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-30))), -1)); // [1, H, L]
    const maxEntropy = tf.log(tf.range(1, L + 1)).reshape([1, 1, L]);
    const rows = tf.div(
      entropy.slice([0, 0, 1], [-1, -1, L - 1]),
      maxEntropy.slice([0, 0, 1], [-1, -1, L - 1]),
    );
    return tf.mean(rows).dataSync()[0];
  });
const attentionStats: Record<string, Record<string, number>> = {};
for (const layer of layers) {
  attentionStats[`layer ${layer}`] = {};
  for (const L of LENGTHS) attentionStats[`layer ${layer}`][`L${L}`] = relativeEntropy(layer, L);
}
console.log(`causal attention entropy / log(i+1): ${JSON.stringify(attentionStats)}`);

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
  new URL('approximation-error-trained.json', import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: await machine(),
      backend: 'training and capture: wasm; kernel measurements: cpu',
      command:
        'node --conditions=source --import tsx tools/experiments/attention/trained-approximation-error.ts' +
        (STEPS !== 300 ? ` --steps ${STEPS}` : ''),
      model: MODEL,
      trainer: { ...TRAINER, steps: STEPS, batchSize: BATCH, seqLen: TRAIN_LEN },
      training: {
        seconds: trainSeconds,
        lastTrainLoss: summary.lastLoss,
        validationLoss: validationLosses,
        baselines,
        note: `validation: the first ${EVAL_TOKENS} targets of the held-out 5%, nats per byte; baselines: add-one-smoothed unigram / bigram byte models of the training split on the same targets`,
      },
      setup: {
        lengths: LENGTHS,
        inputs:
          'q, k, v of each layer (dense kernel input), captured from one forward pass over the first L validation bytes (B = 1)',
        reference: '@weft/nn standard dense kernel, same causality, same q, k, v, captured scale',
        metric: '‖O − O_softmax‖_F / ‖O_softmax‖_F, per layer; `errors` is the mean over layers',
        metricAfterRescale:
          'min over α of ‖αO − O_softmax‖_F / ‖O_softmax‖_F = sqrt(1 − cos²(O, O_softmax))',
        timing:
          'cpuMsAtL1024: median of 3 forward calls (after one warm-up) at L = 1024, layer 0 inputs, cpu backend, shared machine: indicative only',
      },
      attentionEntropyRelativeToUniform: attentionStats,
      rows,
    },
    null,
    2,
  ) + '\n',
);
