/** A synthetic task as a resumable stream of training batches. */
import { CheckpointError, Rng, describeValue, z, type Batch, type DataSource } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import type { SyntheticTask } from './task.js';

export const taskSourceOptionsSchema = z.strictObject({
  batchSize: z.number().int().positive(),
  seed: z.number().int().default(0),
});
export type TaskSourceOptions = z.input<typeof taskSourceOptionsSchema>;

const stateSchema = z.strictObject({
  kind: z.literal('synthetic-task'),
  /** Checked on restore so a state is not applied to another task or batch size. */
  task: z.string(),
  batchSize: z.number().int(),
  rng: z.strictObject({ seed: z.number(), stream: z.number(), counter: z.number() }),
});
export type TaskSourceState = z.infer<typeof stateSchema>;

/** Batches of `task` drawn from one seeded rng; `state()` / `restore()` resume it exactly. */
export class TaskSource implements DataSource {
  readonly task: SyntheticTask;
  readonly batchSize: number;
  private rng: Rng;

  constructor(task: SyntheticTask, options: TaskSourceOptions) {
    const { batchSize, seed } = parseOptions(taskSourceOptionsSchema, options, 'taskSource');
    this.task = task;
    this.batchSize = batchSize;
    this.rng = new Rng(seed);
  }

  /** inputs, targets [batchSize, seqLen] int32 and lossMask float32; the caller disposes them. */
  next(): Batch {
    return this.task.batch(this.rng, this.batchSize);
  }

  state(): TaskSourceState {
    return { kind: 'synthetic-task', task: this.task.name, batchSize: this.batchSize, rng: this.rng.state() };
  }

  restore(state: unknown): void {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) {
      throw new CheckpointError(`TaskSource.restore: not a state saved by TaskSource.state(); got ${describeValue(state)}.`);
    }
    const saved = parsed.data;
    if (saved.task !== this.task.name || saved.batchSize !== this.batchSize) {
      throw new CheckpointError(
        `TaskSource.restore: the state is for task "${saved.task}" with batchSize ${saved.batchSize} but this source is "${this.task.name}" with batchSize ${this.batchSize}; build the source with the same task and batchSize.`,
      );
    }
    this.rng = Rng.fromState(saved.rng);
  }
}

/** Shorthand for `new TaskSource(task, options)`. */
export function taskSource(task: SyntheticTask, options: TaskSourceOptions): TaskSource {
  return new TaskSource(task, options);
}
