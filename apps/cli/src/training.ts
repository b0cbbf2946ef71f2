/**
 * Adapter to @weft/train: a Trainer configured from the run config's "train" section, and
 * the loss-curve picture drawn from the metrics it logged.
 */
import { join } from 'node:path';
import type { Logger, Progress } from '@weft/core';
import { writeFileAtomic } from '@weft/core/node';
import type { CausalLM } from '@weft/nn';
import { lossCurveSvg, MetricsLog, Trainer, type MetricsRecord } from '@weft/train';
import type { TrainSection } from './config/run-config.js';
import { LOSS_CURVE_FILE, METRICS_FILE } from './run-dir.js';

export interface TrainerSetup {
  train: TrainSection;
  outDir: string;
  progress: Progress;
  logger: Logger;
  /** Held-out loss for periodic evaluations (train.evalEvery). */
  evaluate?: () => number;
}

export function createTrainer(model: CausalLM, setup: TrainerSetup): Trainer {
  const t = setup.train;
  return new Trainer(model, {
    lr: t.lr,
    warmupSteps: Math.min(t.warmupSteps, Math.max(0, t.steps - 1)),
    schedule: t.schedule,
    minLrRatio: t.minLrRatio,
    weightDecay: t.weightDecay,
    clipNorm: t.clipNorm,
    gradAccumulation: t.gradAccumulation,
    ...(t.evalEvery !== undefined && setup.evaluate ? { evalEvery: t.evalEvery, evaluate: setup.evaluate } : {}),
    outDir: setup.outDir,
    checkpointEvery: t.checkpointEvery,
    keepLast: t.keepLast,
    logEvery: Math.max(1, Math.round(t.steps / 100)),
    seed: t.seed,
    progress: setup.progress,
    logger: setup.logger,
  });
}

export function metricsLog(outDir: string): MetricsLog {
  return new MetricsLog(join(outDir, METRICS_FILE));
}

export async function appendMetrics(outDir: string, record: MetricsRecord): Promise<void> {
  await metricsLog(outDir).append(record);
}

/** Draw outDir/loss-curve.svg from outDir/metrics.jsonl (training loss and every evaluation). */
export async function writeLossCurve(outDir: string, title: string): Promise<string> {
  const points = (await metricsLog(outDir).read())
    .filter((r) => r.loss !== undefined || r.evalLoss !== undefined)
    .map((r) => ({ step: r.step, loss: r.loss ?? NaN, ...(r.evalLoss !== undefined ? { evalLoss: r.evalLoss } : {}) }));
  const path = join(outDir, LOSS_CURVE_FILE);
  await writeFileAtomic(path, lossCurveSvg(points, { title }));
  return path;
}
