/**
 * Learning-rate schedules as plain JSON descriptors, so a checkpoint can store the schedule
 * it was trained with. `learningRateAt(schedule, step)` is a pure function of the 0-based
 * index of the update being taken (0 for the first update).
 *
 * - constant: linear warmup from lr/W to lr over the first W updates, then lr.
 * - cosine:   the same warmup, then half a cosine from lr down to lr·minLrRatio, reached at
 *             update `decaySteps` and held afterwards (nanoGPT's schedule).
 */
import { ConfigError, describeValue } from '@weft/core';

export interface ConstantSchedule {
  kind: 'constant';
  lr: number;
  warmupSteps: number;
}

export interface CosineSchedule {
  kind: 'cosine';
  lr: number;
  warmupSteps: number;
  /** Update index at which the cosine reaches lr·minLrRatio. */
  decaySteps: number;
  /** Final learning rate as a fraction of lr, in [0, 1]. */
  minLrRatio: number;
}

export type Schedule = ConstantSchedule | CosineSchedule;

function check(field: string, value: number, ok: boolean, fix: string): void {
  if (!ok) throw new ConfigError(`schedule.${field}`, `got ${describeValue(value)}; ${fix}`);
}

function checkCommon(lr: number, warmupSteps: number): void {
  check('lr', lr, Number.isFinite(lr) && lr >= 0, 'use a non-negative learning rate such as 3e-4');
  check(
    'warmupSteps',
    warmupSteps,
    Number.isInteger(warmupSteps) && warmupSteps >= 0,
    'use a whole number of steps, 0 for no warmup',
  );
}

export function constantSchedule(
  lr: number,
  options: { warmupSteps?: number } = {},
): ConstantSchedule {
  const warmupSteps = options.warmupSteps ?? 0;
  checkCommon(lr, warmupSteps);
  return { kind: 'constant', lr, warmupSteps };
}

export function cosineSchedule(options: {
  lr: number;
  decaySteps: number;
  warmupSteps?: number;
  minLrRatio?: number;
}): CosineSchedule {
  const { lr, decaySteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const minLrRatio = options.minLrRatio ?? 0.1;
  checkCommon(lr, warmupSteps);
  check(
    'decaySteps',
    decaySteps,
    Number.isInteger(decaySteps) && decaySteps > 0,
    'use the total number of training steps',
  );
  check(
    'minLrRatio',
    minLrRatio,
    minLrRatio >= 0 && minLrRatio <= 1,
    'use a fraction in [0, 1], e.g. 0.1',
  );
  return { kind: 'cosine', lr, warmupSteps, decaySteps, minLrRatio };
}

/** The learning rate for update number `step` (0-based). */
export function learningRateAt(schedule: Schedule, step: number): number {
  const { lr, warmupSteps } = schedule;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (schedule.kind === 'constant') return lr;
  const minLr = lr * schedule.minLrRatio;
  const span = Math.max(1, schedule.decaySteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - minLr);
}
