/**
 * Length extrapolation of positional encodings: train the same tiny byte-level causal LM at
 * sequence length 64 once per positional encoding (same data, seed and steps), then measure
 * validation loss on the same validation text cut into contiguous windows of 64, 128, 256 and
 * 512 tokens.
 *
 *   cd /work/main   # the repository root
 *   node --conditions=source --import tsx tools/experiments/positional/length-extrapolation.ts \
 *     [--steps 600] [--lr 3e-3] [--encodings sinusoidal,rope,alibi,fire,nope] [--backend wasm]
 *
 * Writes tools/experiments/positional/results.json and prints a markdown table. Also reports
 * two context-free baselines on the same validation targets: the add-one-smoothed unigram and
 * bigram byte models of the training split. A row that does not beat the unigram loss has not
 * learned to use context, and its columns say nothing about extrapolation.
 * `learned` positions are left out on purpose: they have no embedding beyond maxLen.
 *
 * Notation: L_train = training length (64); L_eval ∈ {64, 128, 256, 512}; loss = mean
 * cross-entropy in nats per target byte; bits per byte = loss / ln 2 (the byte tokenizer maps
 * one byte of this ASCII text to one token).
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Rng, createRegistry, tf, useBackend, type Progress } from '@weft/core';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import alibi from '@weft/pos-alibi';
import fire from '@weft/pos-fire';
import nope from '@weft/pos-nope';
import rope from '@weft/pos-rope';
import {
  ByteTokenizer,
  LanguageModelingSource,
  evalBatches,
  splitTrainValidation,
} from '@weft/tasks';
import { loadBrownCorpus } from '@weft/tasks/node';
import { Trainer } from '@weft/train';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '600' },
    lr: { type: 'string', default: '3e-3' },
    'log-every': { type: 'string', default: '100' },
    encodings: { type: 'string', default: 'sinusoidal,rope,alibi,fire,nope' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: new URL('./results.json', import.meta.url).pathname },
  },
});

/** A model-config slot value: a kind name or `{ kind, ...options }`. */
type SlotInput = string | { kind: string; [option: string]: unknown };

/** Positional configs by name (each plugin's defaults); every other model setting is shared. */
const ENCODINGS: Record<string, SlotInput> = {
  sinusoidal: { kind: 'sinusoidal' },
  rope: { kind: 'rope' },
  alibi: { kind: 'alibi' },
  fire: { kind: 'fire' },
  nope: { kind: 'nope' },
};

const TRAIN_LEN = 64;
const EVAL_LENS = [64, 128, 256, 512];
/** Validation tokens scored at every length: a multiple of 512, so each length sees the same targets. */
const EVAL_TOKENS = 8192;
/** Tokens per evaluation batch (batch size 2048 / L_eval). */
const EVAL_BATCH_TOKENS = 2048;
const BATCH = 8;
const SEED = 0;
const MODEL = { vocab: 259, dModel: 64, layers: 2, heads: 4, maxLen: 512, seed: SEED } as const;
const TRAINER = {
  lr: Number(values.lr),
  warmupSteps: 50,
  schedule: 'cosine',
  weightDecay: 0.01,
  clipNorm: 1,
  seed: SEED,
} as const;

const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 1) {
  throw new Error(
    `--steps: expected a whole number of steps >= 1 such as 100; got "${values.steps}".`,
  );
}
if (!(TRAINER.lr > 0)) {
  throw new Error(`--lr: expected a positive learning rate such as 3e-3; got "${values.lr}".`);
}
const logEvery = Number(values['log-every']);
const names = values.encodings!.split(',').map((s) => s.trim());
for (const name of names) {
  if (!(name in ENCODINGS))
    throw new Error(
      `--encodings: unknown encoding "${name}"; choose from ${Object.keys(ENCODINGS).join(', ')}.`,
    );
}

await useBackend(values.backend as 'wasm' | 'cpu');
const text = await loadBrownCorpus();
const tokens = new ByteTokenizer().encode(text);
const { train, validation } = splitTrainValidation(tokens, 0.05);
// The same EVAL_TOKENS targets at every length: windows of L over tokens[0 .. EVAL_TOKENS].
const evalText = validation.subarray(0, EVAL_TOKENS + 1);

/**
 * Context-free baselines on the evaluation targets evalText[1 .. EVAL_TOKENS]: the add-one
 * smoothed unigram p(x) = (n(x) + 1) / (N + V) and bigram p(x | y) = (n(y, x) + 1) / (n(y) + V)
 * of the training split, V = vocab. Mean cross-entropy in nats per byte.
 */
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
    const [y, x] = [evalText[t - 1], evalText[t]];
    unigram -= Math.log((uni[x] + 1) / (train.length + V));
    bigram -= Math.log((bi[y * V + x] + 1) / (uni[y] + V));
  }
  return { unigram: unigram / EVAL_TOKENS, bigram: bigram / EVAL_TOKENS };
}
const baselines = ngramBaselines();
console.error(
  `baselines on the evaluation targets: unigram ${baselines.unigram.toFixed(3)} nats/byte, bigram ${baselines.bigram.toFixed(3)}`,
);

/** Token-weighted mean validation loss over the contiguous windows of length `seqLen`. */
async function validationLoss(model: CausalLM, seqLen: number): Promise<number> {
  model.eval();
  let sum = 0;
  let rows = 0;
  const rng = new Rng(SEED);
  for (const batch of evalBatches(evalText, {
    batchSize: Math.max(1, EVAL_BATCH_TOKENS / seqLen),
    seqLen,
  })) {
    const n = batch.inputs.shape[0];
    const loss = tf.tidy(() => model.loss(batch, { training: false, rng }));
    tf.dispose(Object.values(batch));
    sum += (await loss.data())[0] * n;
    loss.dispose();
    rows += n;
  }
  model.train(true);
  return sum / rows;
}

/** Prints the training loss every `logEvery` steps to stderr. */
const logProgress = (name: string): Progress => ({
  start: () => ({
    update(step, fields) {
      if (step % logEvery === 0)
        console.error(`  ${name} step ${step}: train loss ${fields?.loss}`);
    },
    stop() {},
  }),
});
const registry = createRegistry().use(standard, rope, alibi, fire, nope);

interface Row {
  encoding: string;
  positional: SlotInput;
  parameters: number;
  trainSeconds: number;
  finalTrainLoss: number;
  loss: Record<string, number>;
  bitsPerByte: Record<string, number>;
}
const rows: Row[] = [];
for (const name of names) {
  const model = buildModel(registry, { ...MODEL, positional: ENCODINGS[name] }) as CausalLM;
  const parameters = model.numParameters();
  const trainer = new Trainer(model, { ...TRAINER, progress: logProgress(name) });
  const source = new LanguageModelingSource(train, {
    batchSize: BATCH,
    seqLen: TRAIN_LEN,
    seed: SEED,
  });
  const started = performance.now();
  const summary = await trainer.train(source, { steps });
  const trainSeconds = (performance.now() - started) / 1000;
  const loss: Record<string, number> = {};
  const bitsPerByte: Record<string, number> = {};
  for (const L of EVAL_LENS) {
    loss[L] = await validationLoss(model, L);
    bitsPerByte[L] = loss[L] / Math.LN2;
  }
  rows.push({
    encoding: name,
    positional: ENCODINGS[name],
    parameters,
    trainSeconds,
    finalTrainLoss: summary.lastLoss,
    loss,
    bitsPerByte,
  });
  console.error(
    `${name}: ${parameters} params, ${trainSeconds.toFixed(0)} s, val loss ${EVAL_LENS.map((L) => `${L}:${loss[L].toFixed(3)}`).join(' ')}`,
  );
  model.dispose();
}

const result = {
  command:
    'node --conditions=source --import tsx tools/experiments/positional/length-extrapolation.ts' +
    (values.steps !== '600' ? ` --steps ${steps}` : '') +
    (values.lr !== '3e-3' ? ` --lr ${values.lr}` : ''),
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores (shared), node ${process.version}, tfjs backend ${tf.getBackend()}`,
  data: `Brown corpus bytes (ByteTokenizer), last 5% held out; evaluation on the first ${EVAL_TOKENS} validation targets, contiguous non-overlapping windows`,
  model: MODEL,
  trainer: { ...TRAINER, steps, batchSize: BATCH, seqLen: TRAIN_LEN },
  evalLengths: EVAL_LENS,
  baselines: {
    ...baselines,
    note: 'add-one-smoothed unigram / bigram byte models of the training split, scored on the same evaluation targets (nats per byte)',
  },
  results: rows,
};
await writeFile(values.out!, JSON.stringify(result, null, 2) + '\n');

const V_BASE = '—';
const fmt = (r: Row, L: number) => `${r.loss[L].toFixed(3)} (${r.bitsPerByte[L].toFixed(2)})`;
console.log(
  `| encoding | params | ${EVAL_LENS.map((L) => `L=${L}${L === TRAIN_LEN ? ' (train)' : ''}`).join(' | ')} |`,
);
console.log(`|---|---:|${EVAL_LENS.map(() => '---:').join('|')}|`);
for (const r of rows)
  console.log(
    `| ${r.encoding} | ${r.parameters} | ${EVAL_LENS.map((L) => fmt(r, L)).join(' | ')} |`,
  );
console.log(
  `| unigram baseline | ${V_BASE} | ${EVAL_LENS.map(() => baselines.unigram.toFixed(3)).join(' | ')} |`,
);
console.log(
  `| bigram baseline | ${V_BASE} | ${EVAL_LENS.map(() => baselines.bigram.toFixed(3)).join(' | ')} |`,
);
console.log(
  `\nValidation loss in nats per byte (bits per byte in parentheses); ${steps} steps of ${BATCH}×${TRAIN_LEN} tokens.`,
);
