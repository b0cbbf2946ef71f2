/**
 * Length extrapolation of positional encodings: train the same tiny byte-level causal LM at
 * sequence length 64 once per positional encoding (same data, seed and steps), then measure
 * validation loss on the same validation text cut into contiguous windows of 64, 128, 256 and
 * 512 tokens.
 *
 *   cd /work/main   # the repository root
 *   node --conditions=source --import tsx tools/experiments/positional/length-extrapolation.ts \
 *     [--steps 100] [--encodings sinusoidal,rope,alibi,fire,nope] [--backend wasm]
 *
 * Writes tools/experiments/positional/results.json and prints a markdown table.
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
    steps: { type: 'string', default: '100' },
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
  lr: 1e-2,
  warmupSteps: 10,
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

const quiet: Progress = { start: () => ({ update() {}, stop() {} }) };
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
  const trainer = new Trainer(model, { ...TRAINER, progress: quiet });
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
    (steps !== 100 ? ` --steps ${steps}` : ''),
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores (shared), node ${process.version}, tfjs backend ${tf.getBackend()}`,
  data: `Brown corpus bytes (ByteTokenizer), last 5% held out; evaluation on the first ${EVAL_TOKENS} validation targets, contiguous non-overlapping windows`,
  model: MODEL,
  trainer: { ...TRAINER, steps, batchSize: BATCH, seqLen: TRAIN_LEN },
  evalLengths: EVAL_LENS,
  results: rows,
};
await writeFile(values.out!, JSON.stringify(result, null, 2) + '\n');

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
  `\nValidation loss in nats per byte (bits per byte in parentheses); ${steps} steps of ${BATCH}×${TRAIN_LEN} tokens.`,
);
