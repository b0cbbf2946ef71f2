/**
 * Random-LTD's kept-length schedule (the paper's §3.2 "monotonic sequence length growth";
 * DeepSpeed's `random_ltd_schedule`, schedule_type "fixed_linear"), as a training-loop hook.
 *
 *   r(step) = min(maxValue, v − (v mod seqPerStep)),
 *   v       = floor(min(1, step / requireSteps) · (maxValue − minValue) + minValue)
 *
 * beforeStep(step) writes r(step) into the model's RandomLtdController, which every
 * random-ltd reducer of that model reads. Evaluation is unaffected (reducers keep all tokens).
 */
import { ConfigError, z, type Module, type TrainerHooks } from '@weft/core';
import { randomLtdController, type RandomLtdController } from './controller.js';

export const RandomLtdScheduleOptions = z.object({
  /** Kept length at step 0 (DeepSpeed `min_value`). */
  minValue: z.number().int().positive({ message: 'minValue is the kept length at the start, in tokens (e.g. 128)' }),
  /** Kept length at the end of the ramp, usually the full sequence length (`max_value`). */
  maxValue: z.number().int().positive({ message: 'maxValue is the final kept length, in tokens (usually the sequence length)' }),
  /** Steps over which r grows linearly from minValue to maxValue (`require_steps`). */
  requireSteps: z.number().int().positive({ message: 'requireSteps is the length of the ramp, in steps (e.g. 200000)' }),
  /** r moves in multiples of this many tokens (`seq_per_step`). */
  seqPerStep: z.number().int().positive().default(16),
});
export type RandomLtdScheduleOptions = z.output<typeof RandomLtdScheduleOptions>;

/** r at a (1-based) training step. */
export function randomLtdKeptLength(o: RandomLtdScheduleOptions, step: number): number {
  const v = Math.floor(Math.min(1, step / o.requireSteps) * (o.maxValue - o.minValue) + o.minValue);
  return Math.max(1, Math.min(o.maxValue, v - (v % o.seqPerStep)));
}

export class RandomLtdSchedule implements TrainerHooks {
  private controller?: RandomLtdController;

  constructor(readonly options: RandomLtdScheduleOptions, controller?: RandomLtdController, path = 'trainer') {
    if (options.maxValue < options.minValue) {
      throw new ConfigError(`${path}.maxValue`, `maxValue (${options.maxValue}) is below minValue (${options.minValue}); the kept length only grows: raise maxValue or lower minValue`);
    }
    this.controller = controller;
  }

  /** Control this model's random-ltd reducers (needed when the hook was built outside the model). */
  attach(model: Module): this {
    this.controller = randomLtdController(model);
    return this;
  }

  beforeStep(step: number): void {
    if (this.controller) this.controller.keep = randomLtdKeptLength(this.options, step);
  }
}
