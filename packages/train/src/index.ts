/**
 * @weft/train — train any TrainableModel on any DataSource.
 *
 * const trainer = new Trainer(model, { lr: 3e-3, warmupSteps: 20, outDir: 'runs/x' });
 * const summary = await trainer.train(source, { steps: 300 });
 */
export { Trainer, type TrainSummary } from './trainer.js';
export type { TrainerOptions, TrainOptions } from './trainer-options.js';
export { AdamW, decayMatrices, type AdamWOptions } from './adamw.js';
export {
  constantSchedule,
  cosineSchedule,
  learningRateAt,
  type Schedule,
  type ConstantSchedule,
  type CosineSchedule,
} from './schedule.js';
export { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
export { accumulateGradients, type LossAndGradients } from './accumulate-gradients.js';
export { meanEvalLoss } from './evaluate.js';
export { createProgress, formatDuration, formatCount, type ProgressOptions } from './progress.js';
export { MetricsLog, type MetricsRecord } from './metrics-log.js';
export { lossCurveSvg, type LossPoint, type LossCurveOptions } from './loss-curve-svg.js';
export {
  readCheckpoint,
  findCheckpoint,
  checkpointDirName,
  type TrainerState,
  type LoadedCheckpoint,
} from './checkpoint.js';
export { TRAIN_VERSION } from './version.js';
