/**
 * weft train [config.json]: build the model, measure it, train it, measure it again, and
 * leave a run folder with the checkpoint, metrics.jsonl, config.json and loss-curve.svg.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_NAMES, ConfigError, type BackendName, type Logger } from '@weft/core';
import { writeFileAtomic } from '@weft/core/node';
import type { CausalLM } from '@weft/nn';
import { createProgress } from '@weft/train';
import { describeBackend, formatBackend, selectBackend, THREADS_OPTION } from '../backend.js';
import { loadRunConfig, type ConfigOverrides } from '../config/load-run-config.js';
import type { RunConfig } from '../config/run-config.js';
import { UsageError } from '../errors.js';
import { taskAccuracy } from '../eval/task-accuracy.js';
import { validationLoss } from '../eval/validation-loss.js';
import { count, fixed, formatSeconds, jsonNumber } from '../format.js';
import { reportStream, type Io } from '../io.js';
import { asCausalLM, buildModelFromConfig } from '../model/build-model.js';
import { createModelRegistry } from '../model/model-registry.js';
import { loadTrainingData, sequenceLength, trainingSource, type TrainingData } from '../data/training-data.js';
import { resolveResumeDir } from '../resolve-resume.js';
import { defaultRunDir, RUN_CONFIG_FILE } from '../run-dir.js';
import { oneLine, sampleText } from '../sample-text.js';
import { appendMetrics, createTrainer, writeLossCurve } from '../training.js';
import type { Command } from './command.js';

/** Rows scored per task evaluation. */
const TASK_EVAL_ROWS = 64;

interface Measurement {
  loss: number;
  bitsPerByte?: number;
  accuracy?: number;
}

function measure(model: CausalLM, data: TrainingData, config: RunConfig, seq: number): Measurement {
  if (data.kind === 'task') {
    const r = taskAccuracy(model, data.task, { rows: TASK_EVAL_ROWS, batch: config.train.batch });
    return { loss: r.loss, accuracy: r.accuracy };
  }
  const r = validationLoss(model, data.validation, { batch: config.train.batch, seq, maxBatches: config.train.evalBatches });
  return { loss: r.loss, bitsPerByte: r.bitsPerByte };
}

function describeMeasurement(m: Measurement): string {
  return m.accuracy !== undefined
    ? `task loss ${fixed(m.loss)}  accuracy ${(m.accuracy * 100).toFixed(1)}%`
    : `val loss ${fixed(m.loss)}  bits/byte ${fixed(m.bitsPerByte)}`;
}

/** The model config the run trains: the config's "model" plus its "plugins", so checkpoints record them. */
function modelConfigOf(config: RunConfig): Record<string, unknown> {
  const own = Array.isArray(config.model.plugins) ? (config.model.plugins as string[]) : [];
  const plugins = [...new Set([...own, ...config.plugins])];
  return { ...config.model, ...(plugins.length ? { plugins } : {}) };
}

/** Refuse data the model cannot take, naming the fields to change. */
function checkFits(model: CausalLM, data: TrainingData, seq: number, source: string): void {
  const { vocab, maxLen } = model.resolved.config;
  const needVocab = data.kind === 'task' ? data.task.vocabSize : data.tokenizer.vocabSize;
  if (vocab < needVocab) {
    throw new ConfigError('', `${source}: model.vocab is ${vocab} but the data needs ${needVocab} token ids; set "vocab": ${needVocab}.`);
  }
  if (seq > maxLen) {
    const what = data.kind === 'task' ? `the task "${data.task.name}" has sequences of ${seq} tokens` : `train.seq (--seq) is ${seq}`;
    throw new ConfigError('', `${source}: ${what} but model.maxLen is ${maxLen}; raise model.maxLen to at least ${seq}${data.kind === 'text' ? ' or lower --seq' : ''}.`);
  }
}

function loggerFor(io: Io): Logger {
  return { debug: () => undefined, info: (m) => io.err(m), warn: (m) => io.err(`warning: ${m}`) };
}

export const trainCommand: Command = {
  spec: {
    name: 'train',
    summary: 'Train a model from a run config (default: a small byte-level LM on the Brown corpus).',
    positionals: [{ name: 'config', description: 'Run config JSON (see `weft init`); default configs/default.json.' }],
    options: [
      { name: 'steps', type: 'int', min: 1, value: 'N', description: 'Total optimizer steps (a resumed run continues up to N).' },
      { name: 'batch', type: 'int', min: 1, value: 'B', description: 'Sequences per batch.' },
      { name: 'seq', type: 'int', min: 1, value: 'L', description: 'Tokens per sequence.' },
      { name: 'lr', type: 'number', min: 0, exclusiveMin: true, value: 'X', description: 'Peak learning rate.' },
      { name: 'backend', type: 'string', choices: BACKEND_NAMES, value: 'NAME', description: 'Compute backend.' },
      THREADS_OPTION,
      { name: 'out', type: 'string', value: 'DIR', description: 'Run folder (default runs/<YYYY-MM-DD-HHMMSS>).' },
      { name: 'resume', type: 'optional-string', value: 'DIR', description: 'Continue a run: DIR, or --out, or the newest folder in runs/.' },
      { name: 'eval-every', type: 'int', min: 1, value: 'N', description: 'Evaluate on held-out data every N steps.' },
      { name: 'checkpoint-every', type: 'int', min: 1, value: 'N', description: 'Checkpoint every N steps (the last step always is).' },
      { name: 'seed', type: 'int', min: 0, value: 'S', description: 'Seed for data order and dropout.' },
      { name: 'data', type: 'string', value: 'PATH', description: 'Train on this text file or folder instead.' },
      { name: 'task', type: 'string', value: 'NAME', description: 'Train on this synthetic task (copy, associative-recall, ...) instead.' },
      { name: 'plugins', type: 'list', value: 'a,b', description: 'Plugin packages to load besides the config\'s "plugins".' },
      { name: 'json', type: 'boolean', description: 'Print one JSON line with the results on stdout.' },
    ],
    examples: ['weft train', 'weft train --steps 50 --backend cpu', 'weft train my-config.json --out runs/rope', 'weft train --resume runs/rope --steps 600'],
  },

  async run({ positionals, options }, io) {
    const started = performance.now();
    const json = options.json === true;
    const say = reportStream(io, json);
    const out = options.out as string | undefined;
    const resumeDir = options.resume !== undefined ? resolveResumeDir(options.resume as string | true, out) : undefined;
    if (resumeDir !== undefined && !existsSync(resumeDir)) throw new UsageError(`--resume: there is no run folder ${resumeDir}.`);
    if (options.data !== undefined && options.task !== undefined) throw new UsageError('--data and --task both choose the training data; give one of them.');

    // A resumed run keeps its own config unless another file is named.
    let configPath = positionals[0];
    if (configPath === undefined && resumeDir !== undefined && existsSync(join(resumeDir, RUN_CONFIG_FILE))) configPath = join(resumeDir, RUN_CONFIG_FILE);
    const overrides: ConfigOverrides = {
      steps: options.steps as number | undefined,
      batch: options.batch as number | undefined,
      seq: options.seq as number | undefined,
      lr: options.lr as number | undefined,
      backend: options.backend as string | undefined,
      evalEvery: options.evalEvery as number | undefined,
      checkpointEvery: options.checkpointEvery as number | undefined,
      seed: options.seed as number | undefined,
      data: options.data as string | undefined,
      task: options.task as string | undefined,
      plugins: options.plugins as string[] | undefined,
    };
    const { config, source } = loadRunConfig(configPath, overrides);
    const outDir = out ?? resumeDir ?? defaultRunDir((io.now ?? (() => new Date()))());

    await selectBackend(config.train.backend as BackendName, options.threads as number | undefined);
    say(`backend  ${formatBackend(await describeBackend())}`);
    const data = await loadTrainingData(config.data);
    say(`data     ${data.description}`);

    const modelConfig = modelConfigOf(config);
    const registry = await createModelRegistry(modelConfig.plugins as string[] | undefined ?? [], `"plugins" in ${source}`);
    const model = asCausalLM(buildModelFromConfig(registry, modelConfig, source), source);
    const seq = sequenceLength(data, config.train.seq);
    const runConfig: RunConfig = { ...config, model: modelConfig, train: { ...config.train, seq } };
    let trainer;
    try {
      checkFits(model, data, seq, source);
      const { dModel, layers, heads } = model.resolved.config;
      say(`model    causal LM from ${source}: ${layers} layers, dModel ${dModel}, ${heads} heads, ${count(model.numParameters())} parameters`);
      say(model.summary());
      say(`run      ${outDir}`);

      trainer = createTrainer(model, {
        train: config.train,
        outDir,
        progress: io.progress ?? createProgress(),
        logger: loggerFor(io),
        evaluate: () => measure(model, data, config, seq).loss,
      });
      if (resumeDir !== undefined) {
        await trainer.resume(resumeDir);
        if (trainer.step >= config.train.steps) {
          throw new UsageError(`${resumeDir} is already at step ${trainer.step}; pass --steps with a larger total (e.g. --steps ${trainer.step + config.train.steps}) to train further.`);
        }
      }
      const startStep = trainer.step;
      const before = measure(model, data, config, seq);
      say(`before   ${describeMeasurement(before)}`);
      const sampleBefore = data.kind === 'text' ? sampleText(model, data.tokenizer, config.sample) : undefined;
      if (sampleBefore !== undefined) say(`sample   ${JSON.stringify(config.sample.prompt)} → ${JSON.stringify(oneLine(sampleBefore))}`);

      await writeFileAtomic(join(outDir, RUN_CONFIG_FILE), JSON.stringify(runConfig, null, 2) + '\n');
      if (startStep === 0) await appendMetrics(outDir, { step: 0, evalLoss: before.loss });

      const trainStarted = performance.now();
      const summary = await trainer.train(trainingSource(data, { batch: config.train.batch, seq, seed: config.train.seed }), { steps: config.train.steps });
      const trainSeconds = (performance.now() - trainStarted) / 1000;

      const evaluatedAtEnd = config.train.evalEvery !== undefined && summary.evalLoss !== undefined;
      const after = evaluatedAtEnd && data.kind === 'text' ? { loss: summary.evalLoss!, bitsPerByte: summary.evalLoss! / Math.LN2 } : measure(model, data, config, seq);
      if (!evaluatedAtEnd) await appendMetrics(outDir, { step: summary.steps, evalLoss: after.loss });
      say(`after    ${describeMeasurement(after)}`);
      const sampleAfter = data.kind === 'text' ? sampleText(model, data.tokenizer, config.sample) : undefined;
      if (sampleAfter !== undefined) say(`sample   ${JSON.stringify(config.sample.prompt)} → ${JSON.stringify(oneLine(sampleAfter))}`);
      const curve = await writeLossCurve(outDir, `weft train ${outDir}`);
      const seconds = (performance.now() - started) / 1000;
      say(`wrote    ${summary.checkpoint ?? '(no checkpoint)'}, ${join(outDir, 'metrics.jsonl')}, ${curve}, ${join(outDir, RUN_CONFIG_FILE)}`);
      say(`done     ${summary.steps - startStep} steps in ${formatSeconds(trainSeconds)} (${count(summary.tokensPerSecond)} tokens/s), ${formatSeconds(seconds)} in all`);
      if (json) {
        io.out(
          JSON.stringify({
            steps: summary.steps,
            firstLoss: jsonNumber(summary.firstLoss),
            lastLoss: jsonNumber(summary.lastLoss),
            evalLossBefore: jsonNumber(before.loss),
            evalLoss: jsonNumber(after.loss),
            bitsPerByteBefore: jsonNumber(before.bitsPerByte),
            bitsPerByte: jsonNumber(after.bitsPerByte),
            ...(after.accuracy !== undefined ? { accuracyBefore: before.accuracy, accuracy: after.accuracy } : {}),
            tokensPerSecond: jsonNumber(summary.tokensPerSecond),
            trainSeconds: jsonNumber(trainSeconds),
            seconds: jsonNumber(seconds),
            backend: config.train.backend,
            parameters: model.numParameters(),
            runDir: outDir,
            checkpoint: summary.checkpoint ?? null,
            sampleBefore: sampleBefore ?? null,
            sampleAfter: sampleAfter ?? null,
          }),
        );
      }
      return 0;
    } finally {
      trainer?.dispose();
      model.dispose();
    }
  },
};
