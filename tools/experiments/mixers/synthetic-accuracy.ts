/**
 * Mixer comparison on synthetic recall tasks: the same tiny causal LM (dModel 32, 2 layers,
 * GELU MLP, LayerNorm) trained with each sequence mixer on @weft/tasks' 'associative-recall'
 * (MQAR) and 'selective-copy', under one budget (steps, lr, batch, seeds), on the wasm
 * backend; the score is answer-token accuracy (task.score) on a held-out seeded sample.
 *
 *   node --conditions=source --import tsx tools/experiments/mixers/synthetic-accuracy.ts \
 *     [--steps 100] [--batch 16] [--mixers attention,mamba,...] [--tasks associative-recall,selective-copy] \
 *     [--out tools/experiments/mixers/results.json]
 *
 * Attention uses learned absolute positions; every other mixer is order-aware by
 * construction and runs with positional 'none' (as in each plugin's README).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release, arch } from 'node:os';
import { createRegistry, Rng, silentProgress, tf, useBackend, type Logger } from '@weft/core';
import { buildModel, standard, type CausalLM } from '@weft/nn';
import { createTask, taskSource, type SyntheticTask } from '@weft/tasks';
import { Trainer } from '@weft/train';
import mamba from '@weft/mixer-mamba';
import minrnn from '@weft/mixer-mingru';
import rwkv from '@weft/mixer-rwkv';
import deltanet from '@weft/mixer-deltanet';
import longhorn from '@weft/mixer-longhorn';
import s4 from '@weft/mixer-s4';
import h3 from '@weft/mixer-h3';
import hyena from '@weft/mixer-hyena';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const STEPS = Number(arg('steps', '100'));
const LR = 3e-3;
const BATCH = Number(arg('batch', '16'));
const EVAL_ROWS = 256;
const MODEL_SEED = 1;
const TRAINER_SEED = 2;
const DATA_SEED = 3;
const EVAL_SEED = 99;
const OUT = arg('out', 'tools/experiments/mixers/results.json');

/** Each task with its options and the chance accuracy of a uniform guess over the answer alphabet. */
const TASKS: Record<string, { options: Record<string, number>; chance: number }> = {
  'associative-recall': { options: { pairs: 4, queries: 2, keys: 8, values: 8 }, chance: 1 / 8 },
  'selective-copy': { options: { regionLength: 12, count: 3, symbols: 8 }, chance: 1 / 8 },
};

/** The mixer config per name, given the task's sequence length. */
const MIXERS: Record<string, (seqLen: number) => Record<string, unknown>> = {
  attention: () => ({ kind: 'attention' }),
  mamba: () => ({ kind: 'mamba', d_state: 16 }),
  mingru: () => ({ kind: 'mingru', expansion: 2 }),
  minlstm: () => ({ kind: 'minlstm', expansion: 2 }),
  rwkv: () => ({ kind: 'rwkv', channelMix: false }),
  deltanet: () => ({ kind: 'deltanet', chunkSize: 16 }),
  longhorn: () => ({ kind: 'longhorn', d_state: 16 }),
  s4: () => ({ kind: 's4', d_state: 16 }),
  h3: () => ({ kind: 'h3', d_state: 16 }),
  hyena: (seqLen) => ({ kind: 'hyena', l_max: seqLen, filter_order: 16 }),
};

const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: (m: string) => console.warn(m) };

interface RunResult {
  mixer: string;
  task: string;
  accuracy: number | null;
  exactMatch: number | null;
  chance: number;
  firstLoss: number | null;
  lastLoss: number | null;
  parameters: number | null;
  seconds: number;
  error?: string;
}

function buildFor(mixer: string, task: SyntheticTask): CausalLM {
  const registry = createRegistry().use(standard, mamba, minrnn, rwkv, deltanet, longhorn, s4, h3, hyena);
  return buildModel(registry, {
    vocab: task.vocabSize,
    dModel: 32,
    layers: 2,
    heads: 2,
    maxLen: task.seqLen,
    positional: mixer === 'attention' ? 'learned' : 'none',
    mixer: MIXERS[mixer](task.seqLen),
    seed: MODEL_SEED,
  }) as CausalLM;
}

async function run(mixer: string, taskName: string): Promise<RunResult> {
  const { options, chance } = TASKS[taskName];
  const task = createTask(taskName, options);
  const started = performance.now();
  let model: CausalLM | undefined;
  let trainer: Trainer | undefined;
  try {
    model = buildFor(mixer, task);
    const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
    trainer = new Trainer(model, {
      lr: LR,
      warmupSteps: 10,
      clipNorm: 1,
      seed: TRAINER_SEED,
      logEvery: 1_000_000,
      progress: silentProgress,
      logger: quietLogger,
    });
    const summary = await trainer.train(taskSource(task, { batchSize: BATCH, seed: DATA_SEED }), { steps: STEPS });
    const sample = task.sample(new Rng(EVAL_SEED), EVAL_ROWS);
    const predicted = tf.tidy(() => {
      const logits = model!.forward(tf.tensor2d(sample.inputs, [sample.batchSize, sample.seqLen], 'int32'));
      return tf.argMax(logits, -1).dataSync() as Int32Array;
    });
    const score = task.score(predicted, sample);
    return {
      mixer,
      task: taskName,
      accuracy: score.accuracy,
      exactMatch: score.exactMatch,
      chance,
      firstLoss: summary.firstLoss,
      lastLoss: summary.lastLoss,
      parameters,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    return {
      mixer,
      task: taskName,
      accuracy: null,
      exactMatch: null,
      chance,
      firstLoss: null,
      lastLoss: null,
      parameters: null,
      seconds: (performance.now() - started) / 1000,
      error: String((error as Error)?.message ?? error).slice(0, 300),
    };
  } finally {
    trainer?.dispose();
    model?.dispose();
  }
}

async function main(): Promise<void> {
  await useBackend('wasm');
  const mixers = arg('mixers', Object.keys(MIXERS).join(',')).split(',');
  const tasks = arg('tasks', Object.keys(TASKS).join(',')).split(',');
  const loadStart = loadavg();
  const results: RunResult[] = [];
  for (const taskName of tasks) {
    for (const mixer of mixers) {
      const r = await run(mixer, taskName);
      results.push(r);
      console.log(
        `${taskName.padEnd(19)} ${mixer.padEnd(9)} acc ${r.accuracy?.toFixed(3) ?? 'n/a'} (chance ${r.chance.toFixed(3)}) ` +
          `loss ${r.firstLoss?.toFixed(3) ?? '-'} -> ${r.lastLoss?.toFixed(3) ?? '-'}  ${r.seconds.toFixed(1)} s${r.error ? `  ERROR ${r.error}` : ''}`,
      );
    }
  }
  const report = {
    date: new Date().toISOString(),
    command: `node --conditions=source --import tsx tools/experiments/mixers/synthetic-accuracy.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()} ${arch()}`,
    node: process.version,
    backend: tf.getBackend(),
    loadAverage: { start: loadStart, end: loadavg() },
    budget: { steps: STEPS, lr: LR, schedule: 'cosine, 10 warmup steps, clipNorm 1', batchSize: BATCH, evalRows: EVAL_ROWS, seeds: { model: MODEL_SEED, trainer: TRAINER_SEED, data: DATA_SEED, eval: EVAL_SEED } },
    model: { dModel: 32, layers: 2, heads: 2, feedforward: 'mlp', norm: 'layernorm', positional: 'learned for attention, none for the other mixers' },
    tasks: Object.fromEntries(tasks.map((t) => [t, { ...TASKS[t], seqLen: createTask(t, TASKS[t].options).seqLen }])),
    mixers: Object.fromEntries(mixers.map((m) => [m, MIXERS[m](0)])),
    results,
  };
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${OUT}`);
}

await main();
