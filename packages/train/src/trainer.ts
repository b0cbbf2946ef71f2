/**
 * The training loop. One step:
 *
 *   beforeStep hooks → gradAccumulation × (source.next() → transformBatch hooks) →
 *   mean loss and gradients (dropout rng forked from the trainer's rng by step) →
 *   clip by global norm → skip if loss or norm is not finite, else AdamW at the scheduled lr →
 *   afterStep hooks → metrics line / evaluation / checkpoint when due.
 *
 * Everything a step depends on (weights, optimizer moments, step count, rng, data-source
 * cursor) is in the checkpoint, so a resumed run reproduces an uninterrupted one exactly on
 * the same backend.
 */
import { join } from 'node:path';
import {
  CheckpointError,
  ConfigError,
  consoleLogger,
  describeValue,
  recordsToTensors,
  Rng,
  TrainingError,
  tf,
} from '@weft/core';
import type {
  Batch,
  DataSource,
  Logger,
  Progress,
  Tensor,
  TrainableModel,
  Variable,
} from '@weft/core';
import { writeFileAtomic } from '@weft/core/node';
import { accumulateGradients, type LossAndGradients } from './accumulate-gradients.js';
import { AdamW } from './adamw.js';
import {
  readCheckpoint,
  findCheckpoint,
  pruneCheckpoints,
  writeCheckpoint,
  type TrainerState,
} from './checkpoint.js';
import { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
import { meanEvalLoss } from './evaluate.js';
import { lossCurveSvg } from './loss-curve-svg.js';
import { MetricsLog, type MetricsRecord } from './metrics-log.js';
import { createProgress } from './progress.js';
import { constantSchedule, cosineSchedule, learningRateAt, type Schedule } from './schedule.js';
import {
  RECORDED_OPTIONS,
  resolveTrainerOptions,
  type ResolvedTrainerOptions,
  type TrainerOptions,
  type TrainOptions,
} from './trainer-options.js';
import { TRAIN_VERSION } from './version.js';

export interface TrainSummary {
  /** The trainer's step count at the end (including steps done before a resume). */
  steps: number;
  /** Loss of the first applied step of the run (kept across resumes); NaN if none. */
  firstLoss: number;
  /** Loss of the last applied step; NaN if none. */
  lastLoss: number;
  /** The latest evaluation loss, when evaluations ran. */
  evalLoss?: number;
  /** Target tokens per second of training compute in this call. */
  tokensPerSecond: number;
  /** Steps skipped in this call because the loss or gradient norm was not finite. */
  skippedSteps: number;
  /** Directory of the last checkpoint written, when outDir is set. */
  checkpoint?: string;
}

interface StepResult {
  loss: number;
  gradNorm: number;
  tokens: number;
  applied: boolean;
}

/** JSON with object keys sorted, so equal configs compare equal as strings. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Paths where two JSON values differ, e.g. `dModel: 32 vs 16`. */
function configDifferences(saved: unknown, current: unknown, path = ''): string[] {
  if (canonicalJson(saved) === canonicalJson(current)) return [];
  const bothObjects =
    saved &&
    current &&
    typeof saved === 'object' &&
    typeof current === 'object' &&
    !Array.isArray(saved) &&
    !Array.isArray(current);
  if (!bothObjects)
    return [
      `${path || '(root)'}: ${canonicalJson(saved)} in the checkpoint vs ${canonicalJson(current)} now`,
    ];
  const keys = new Set([...Object.keys(saved as object), ...Object.keys(current as object)]);
  return [...keys].flatMap((k) =>
    configDifferences(
      (saved as Record<string, unknown>)[k],
      (current as Record<string, unknown>)[k],
      path ? `${path}.${k}` : k,
    ),
  );
}

function batchTensors(batch: Batch): Tensor[] {
  return Object.values(batch).filter((t): t is Tensor => t instanceof tf.Tensor);
}

export class Trainer {
  readonly model: TrainableModel;
  readonly options: ResolvedTrainerOptions;
  readonly optimizer: AdamW;
  private readonly params: Array<[string, Variable]>;
  private readonly logger: Logger;
  private readonly progress: Progress;
  private rng: Rng;
  private currentStep = 0;
  private firstLoss: number | null = null;
  private lastLoss: number | null = null;
  private lastEvalLoss: number | null = null;
  private nonFiniteInARow = 0;
  /** Data-source cursors from a resumed checkpoint, applied when train() gets the sources. */
  private pendingCursors?: { data: unknown; evalData?: unknown };
  /** Where evalSource stood before the first evaluation; every evaluation rewinds to it. */
  private evalStart?: unknown;
  /** The schedule of the current (or last) train() call, recorded in checkpoints. */
  private activeSchedule?: Schedule;

  constructor(model: TrainableModel, options: TrainerOptions = {}) {
    this.model = model;
    this.options = resolveTrainerOptions(options);
    this.params = model.namedParameters().filter(([, p]) => p.trainable);
    if (this.params.length === 0)
      throw new ConfigError(
        'model',
        'has no trainable parameters; unfreeze some (model.unfreeze()) before training.',
      );
    const { lr, betas, eps, weightDecay, decay } = this.options;
    this.optimizer = new AdamW(this.params, { lr, betas, eps, weightDecay, decay });
    this.rng = new Rng(this.options.seed);
    this.logger = this.options.logger ?? consoleLogger;
    this.progress = this.options.progress ?? createProgress();
  }

  /** Optimizer steps taken so far (skipped non-finite steps count: their data was consumed). */
  get step(): number {
    return this.currentStep;
  }

  /** Train on `source` until the step count reaches `options.steps`. */
  async train(source: DataSource, options: TrainOptions): Promise<TrainSummary> {
    const { steps } = options;
    if (!Number.isInteger(steps) || steps < 1)
      throw new ConfigError(
        'train.steps',
        `expected a whole number of steps >= 1; got ${describeValue(steps)}`,
      );
    const { evalSource, outDir } = this.options;
    if (options.resume) await this.resumeFrom(options.resume);
    if (outDir && this.currentStep === 0 && (await findCheckpoint(outDir))) {
      throw new ConfigError(
        'trainer.outDir',
        `${outDir} already holds checkpoints of another run. Pass resume: true to continue it, or choose an empty outDir for a new run.`,
      );
    }
    this.restoreCursors(source);
    if (evalSource && this.evalStart === undefined) this.evalStart = evalSource.state();

    const schedule = this.schedule(steps);
    this.activeSchedule = schedule;
    const metrics = outDir ? new MetricsLog(join(outDir, 'metrics.jsonl')) : undefined;
    // Drop lines a previous, interrupted run wrote past the point this run continues from.
    if (metrics) await metrics.truncateAfter(this.currentStep);

    this.model.train();
    const handle = this.progress.start('step', steps);
    let run = { tokens: 0, ms: 0, skipped: 0 };
    let window = { tokens: 0, ms: 0 };
    let checkpoint: string | undefined;
    try {
      while (this.currentStep < steps) {
        const step = this.currentStep + 1;
        for (const h of this.options.hooks) h.beforeStep?.(step);
        const lr = learningRateAt(schedule, step - 1);
        const started = performance.now();
        const result = await this.optimizationStep(source, step, lr);
        const ms = performance.now() - started;
        this.currentStep = step;
        run = {
          tokens: run.tokens + result.tokens,
          ms: run.ms + ms,
          skipped: run.skipped + (result.applied ? 0 : 1),
        };
        window = { tokens: window.tokens + result.tokens, ms: window.ms + ms };

        const record: MetricsRecord = { step };
        if (result.applied) {
          this.nonFiniteInARow = 0;
          this.firstLoss ??= result.loss;
          this.lastLoss = result.loss;
          for (const h of this.options.hooks)
            h.afterStep?.({ step, loss: result.loss, learningRate: lr });
          Object.assign(record, { loss: result.loss, lr, gradNorm: result.gradNorm });
        } else {
          this.nonFiniteInARow += 1;
          record.skipped = `loss ${result.loss}, gradient norm ${result.gradNorm}`;
          this.logger.warn(
            `step ${step}: skipped (loss ${result.loss}, gradient norm ${result.gradNorm}); parameters unchanged, ${this.nonFiniteInARow} in a row.`,
          );
        }
        const evaluated =
          this.options.evalEvery !== undefined &&
          (step % this.options.evalEvery === 0 || step === steps);
        if (evaluated) {
          record.evalLoss = await this.evaluate();
          this.lastEvalLoss = record.evalLoss;
          for (const h of this.options.hooks) h.onEval?.({ step, evalLoss: record.evalLoss });
        }
        if (
          metrics &&
          (!result.applied || evaluated || step % this.options.logEvery === 0 || step === steps)
        ) {
          if (result.applied)
            record.tokensPerSecond = window.ms > 0 ? (window.tokens * 1000) / window.ms : 0;
          window = { tokens: 0, ms: 0 };
          await metrics.append(record);
        }
        handle.update(step, {
          loss: result.loss.toFixed(3),
          'tok/s': run.ms > 0 ? (run.tokens * 1000) / run.ms : 0,
        });

        if (this.nonFiniteInARow >= this.options.maxNonFiniteSteps) {
          throw new TrainingError(
            `Training stopped at step ${step}: the loss or gradient norm was not finite (NaN or Infinity) for ${this.nonFiniteInARow} steps in a row ` +
              `(last: loss ${result.loss}, gradient norm ${result.gradNorm}). Lower the learning rate (lr is ${this.options.lr}), ` +
              `keep gradient clipping on (clipNorm), or check the data; maxNonFiniteSteps sets how many are tolerated.`,
          );
        }
        const due =
          this.options.checkpointEvery !== undefined && step % this.options.checkpointEvery === 0;
        if (outDir && (due || step === steps)) checkpoint = await this.saveCheckpoint(source);
      }
    } finally {
      handle.stop();
    }
    if (outDir && metrics) await this.writeLossCurve(outDir, metrics);
    return {
      steps: this.currentStep,
      firstLoss: this.firstLoss ?? NaN,
      lastLoss: this.lastLoss ?? NaN,
      ...(this.lastEvalLoss !== null ? { evalLoss: this.lastEvalLoss } : {}),
      tokensPerSecond: run.ms > 0 ? (run.tokens * 1000) / run.ms : 0,
      skippedSteps: run.skipped,
      ...(checkpoint ? { checkpoint } : {}),
    };
  }

  /** Mean evaluation loss now: `evaluate(model)` if given, else `evalBatches` batches of evalSource. */
  async evaluate(): Promise<number> {
    const { evaluate, evalSource, evalBatches } = this.options;
    if (evaluate) return evaluate(this.model);
    if (!evalSource)
      throw new ConfigError(
        'trainer.evalSource',
        'is needed to evaluate: pass evalSource (a DataSource) or evaluate (a function).',
      );
    this.evalStart ??= evalSource.state();
    evalSource.restore(this.evalStart);
    return meanEvalLoss(this.model, evalSource, evalBatches, this.rng.fork('eval'));
  }

  /**
   * Restore weights, optimizer state, step, rng and (at the next train()) data-source cursors
   * from a checkpoint directory, a checkpoints directory or a run directory (default: outDir).
   * Returns the restored step. A corrupt checkpoint, or one from a model with another config,
   * is a CheckpointError and leaves the trainer untouched.
   */
  async resume(path?: string): Promise<number> {
    const where = path ?? this.options.outDir;
    if (!where)
      throw new ConfigError(
        'trainer.outDir',
        'resume() needs a path, or outDir set on the trainer, to find the checkpoint.',
      );
    const { dir, state, model, optimizer } = await readCheckpoint(where);

    const saved = model.metadata.config;
    if (saved === undefined)
      throw new CheckpointError(
        `Checkpoint ${dir} has no model config in its metadata: it was not written by @weft/train.`,
      );
    let savedConfig: unknown;
    try {
      savedConfig = JSON.parse(saved);
    } catch (cause) {
      throw new CheckpointError(
        `Checkpoint ${dir} has a model config that is not valid JSON: the checkpoint is corrupt.`,
        { cause },
      );
    }
    const differences = configDifferences(savedConfig, this.model.config);
    if (differences.length) {
      throw new CheckpointError(
        `Checkpoint ${dir} was saved from a model with a different config (${differences.slice(0, 3).join('; ')}). ` +
          "Build the model from the checkpoint's config to resume it, or start a fresh run in another outDir.",
      );
    }
    for (const [name, p] of this.model.namedParameters()) {
      const record = model.tensors[name];
      if (!record)
        throw new CheckpointError(
          `Checkpoint ${dir} lacks parameter "${name}" of this model: the checkpoint is incomplete or corrupt.`,
        );
      if (record.shape.join(',') !== p.shape.join(',')) {
        throw new CheckpointError(
          `Checkpoint ${dir} holds "${name}" with shape [${record.shape}] but the model's is [${p.shape}].`,
        );
      }
    }

    const optimizerTensors = recordsToTensors(optimizer);
    try {
      this.optimizer.loadState(optimizerTensors);
    } finally {
      tf.dispose(Object.values(optimizerTensors));
    }
    const weights = recordsToTensors(model);
    try {
      this.model.loadStateDict(weights, true);
    } finally {
      tf.dispose(Object.values(weights));
    }
    this.rng = Rng.fromState(state.rng);
    this.currentStep = state.step;
    this.firstLoss = state.firstLoss;
    this.lastLoss = state.lastLoss;
    this.lastEvalLoss = state.evalLoss;
    this.pendingCursors = { data: state.data, evalData: state.evalData };
    this.evalStart = state.evalData;
    this.warnOnChangedOptions(state.options, dir);
    this.logger.info(`Resumed from ${dir} at step ${state.step}.`);
    return state.step;
  }

  /**
   * Write a checkpoint of the current step (with `source`'s cursor) into outDir/checkpoints
   * and prune to keepLast. Returns its directory. train() calls this on its own.
   */
  async saveCheckpoint(source: DataSource): Promise<string> {
    const { outDir, keepLast } = this.options;
    if (!outDir)
      throw new ConfigError(
        'trainer.outDir',
        'is needed to save checkpoints: pass outDir, the run directory.',
      );
    const checkpointsDir = join(outDir, 'checkpoints');
    const state: TrainerState = {
      format: 'weft.train/checkpoint',
      version: 1,
      step: this.currentStep,
      modelConfig: this.model.config,
      rng: this.rng.state(),
      data: source.state(),
      ...(this.evalStart !== undefined ? { evalData: this.evalStart } : {}),
      schedule: this.activeSchedule ?? this.schedule(Math.max(1, this.currentStep)),
      options: Object.fromEntries(RECORDED_OPTIONS.map((k) => [k, this.options[k] ?? null])),
      firstLoss: this.firstLoss,
      lastLoss: this.lastLoss,
      evalLoss: this.lastEvalLoss,
      versions: { '@weft/train': TRAIN_VERSION, '@tensorflow/tfjs-core': tf.version_core },
    };
    const optimizerState = this.optimizer.state();
    try {
      const dir = await writeCheckpoint(checkpointsDir, {
        model: this.model,
        modelMetadata: {
          config: canonicalJson(this.model.config),
          step: String(this.currentStep),
          '@weft/train': TRAIN_VERSION,
          '@tensorflow/tfjs-core': tf.version_core,
        },
        optimizerState,
        state,
      });
      await pruneCheckpoints(checkpointsDir, keepLast);
      return dir;
    } finally {
      tf.dispose(Object.values(optimizerState));
    }
  }

  /** Free the optimizer's state (the model stays the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }

  private async resumeFrom(resume: true | string): Promise<void> {
    if (resume === true) {
      const { outDir } = this.options;
      if (!outDir)
        throw new ConfigError(
          'train.resume',
          'resume: true looks for checkpoints in outDir, which is not set. Pass outDir or a checkpoint path.',
        );
      if (!(await findCheckpoint(outDir))) {
        this.logger.info(`No checkpoint in ${outDir}; starting from step 0.`);
        return;
      }
      await this.resume(outDir);
    } else {
      await this.resume(resume);
    }
  }

  private restoreCursors(source: DataSource): void {
    if (!this.pendingCursors) return;
    source.restore(this.pendingCursors.data);
    if (this.options.evalSource && this.pendingCursors.evalData !== undefined)
      this.options.evalSource.restore(this.pendingCursors.evalData);
    this.pendingCursors = undefined;
  }

  private schedule(steps: number): Schedule {
    const { schedule, lr, warmupSteps, decaySteps, minLrRatio } = this.options;
    return schedule === 'constant'
      ? constantSchedule(lr, { warmupSteps })
      : cosineSchedule({ lr, warmupSteps, decaySteps: decaySteps ?? steps, minLrRatio });
  }

  private async optimizationStep(
    source: DataSource,
    step: number,
    lr: number,
  ): Promise<StepResult> {
    const micro = this.options.gradAccumulation;
    const batches: Batch[] = [];
    const owned: Tensor[] = [];
    let gradients: LossAndGradients;
    let tokens = 0;
    try {
      for (let i = 0; i < micro; i++) {
        let batch = source.next();
        owned.push(...batchTensors(batch));
        for (const h of this.options.hooks)
          if (h.transformBatch) batch = h.transformBatch(batch, step);
        owned.push(...batchTensors(batch));
        batches.push(batch);
      }
      tokens = batches.reduce((n, b) => n + b.targets.size, 0);
      const stepRng = this.rng.fork(step);
      gradients = accumulateGradients(this.params, micro, (i) =>
        this.model.loss(batches[i], { training: true, rng: stepRng.fork(i) }),
      );
    } finally {
      tf.dispose(owned);
    }
    const { loss, grads } = gradients;
    const clipped =
      this.options.clipNorm !== null
        ? clipByGlobalNorm(grads, this.options.clipNorm)
        : { grads, norm: globalNorm(Object.values(grads)) };
    try {
      const both = tf.tidy(() => tf.stack([tf.cast(loss, 'float32'), clipped.norm]));
      const [lossValue, gradNorm] = await both.data();
      both.dispose();
      const applied = Number.isFinite(lossValue) && Number.isFinite(gradNorm);
      if (applied) this.optimizer.step(clipped.grads, lr);
      return { loss: lossValue, gradNorm, tokens, applied };
    } finally {
      tf.dispose([loss, clipped.norm, ...Object.values(grads), ...Object.values(clipped.grads)]);
    }
  }

  private warnOnChangedOptions(saved: Record<string, unknown>, dir: string): void {
    const changed = RECORDED_OPTIONS.filter(
      (k) => canonicalJson(saved[k] ?? null) !== canonicalJson(this.options[k] ?? null),
    );
    if (changed.length) {
      this.logger.warn(
        `Resuming ${dir} with changed options: ${changed.map((k) => `${k} ${canonicalJson(saved[k] ?? null)} -> ${canonicalJson(this.options[k] ?? null)}`).join(', ')}. ` +
          'The run will not match an uninterrupted one.',
      );
    }
  }

  private async writeLossCurve(outDir: string, metrics: MetricsLog): Promise<void> {
    const points = (await metrics.read())
      .filter((r) => r.loss !== undefined || r.evalLoss !== undefined)
      .map((r) => ({
        step: r.step,
        loss: r.loss ?? NaN,
        ...(r.evalLoss !== undefined ? { evalLoss: r.evalLoss } : {}),
      }));
    await writeFileAtomic(
      join(outDir, 'loss.svg'),
      lossCurveSvg(points, { title: `Loss (${outDir})` }),
    );
  }
}
