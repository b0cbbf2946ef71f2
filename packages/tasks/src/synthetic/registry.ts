/**
 * Every synthetic task by name, with its options schema, so a task can be built from JSON
 * (e.g. by the CLI): `createTask('copy', { length: 32 })`.
 */
import { ConfigError, didYouMean, type z } from '@weft/core';
import { AdditionTask, additionOptionsSchema, type AdditionOptions } from './addition.js';
import { AssociativeRecallTask, associativeRecallOptionsSchema, type AssociativeRecallOptions } from './associative-recall.js';
import { CopyTask, copyOptionsSchema, type CopyOptions } from './copy.js';
import { InductionHeadsTask, inductionHeadsOptionsSchema, type InductionHeadsOptions } from './induction-heads.js';
import { ListOpsTask, listOpsOptionsSchema, type ListOpsOptions } from './listops.js';
import { PasskeyTask, passkeyOptionsSchema, type PasskeyOptions } from './passkey.js';
import { SelectiveCopyTask, selectiveCopyOptionsSchema, type SelectiveCopyOptions } from './selective-copy.js';
import { SortingTask, sortingOptionsSchema, type SortingOptions } from './sorting.js';
import type { SyntheticTask } from './task.js';

/** Builds a task from options of unknown shape; throws ConfigError on bad options. */
export type TaskFactory = (options?: unknown) => SyntheticTask;

// Each constructor validates its options with its schema, so the casts only satisfy the compiler.
export const TASKS: Readonly<Record<string, TaskFactory>> = {
  copy: (options) => new CopyTask(options as CopyOptions),
  'selective-copy': (options) => new SelectiveCopyTask(options as SelectiveCopyOptions),
  'associative-recall': (options) => new AssociativeRecallTask(options as AssociativeRecallOptions),
  'induction-heads': (options) => new InductionHeadsTask(options as InductionHeadsOptions),
  listops: (options) => new ListOpsTask(options as ListOpsOptions),
  passkey: (options) => new PasskeyTask(options as PasskeyOptions),
  addition: (options) => new AdditionTask(options as AdditionOptions),
  sorting: (options) => new SortingTask(options as SortingOptions),
};

/** The zod schema of each task's options (for documentation, forms and JSON-schema export). */
export const TASK_OPTIONS: Readonly<Record<string, z.ZodType>> = {
  copy: copyOptionsSchema,
  'selective-copy': selectiveCopyOptionsSchema,
  'associative-recall': associativeRecallOptionsSchema,
  'induction-heads': inductionHeadsOptionsSchema,
  listops: listOpsOptionsSchema,
  passkey: passkeyOptionsSchema,
  addition: additionOptionsSchema,
  sorting: sortingOptionsSchema,
};

/** The task called `name`, built from `options` (defaults fill what is missing). */
export function createTask(name: string, options?: unknown): SyntheticTask {
  const factory = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (!factory) {
    const names = Object.keys(TASKS);
    throw new ConfigError('task', `no synthetic task "${name}" (tasks: ${names.join(', ')}).${didYouMean(name, names)}`);
  }
  return factory(options);
}
