/**
 * The Trainer's options: types, defaults, and validation that names the field, the value
 * and the fix.
 */
import { ConfigError, describeValue, didYouMean, z } from '@weft/core';
import type {
  DataSource,
  Logger,
  Progress,
  TrainableModel,
  TrainerHooks,
  Variable,
} from '@weft/core';

export interface TrainerOptions {
  /** Peak learning rate (default 3e-4). */
  lr?: number;
  /** AdamW (β1, β2), default [0.9, 0.999]. */
  betas?: [number, number];
  /** AdamW ε, default 1e-8. */
  eps?: number;
  /** Decoupled weight decay λ, default 0.01. */
  weightDecay?: number;
  /** Which parameters are decayed (default: 2-D and larger; not biases or norm gains). */
  decay?: (name: string, param: Variable) => boolean;

  /** 'cosine' (default): warmup then cosine decay to lr·minLrRatio; 'constant': warmup then lr. */
  schedule?: 'cosine' | 'constant';
  /** Linear warmup length in steps (default 0). */
  warmupSteps?: number;
  /** Step at which the cosine reaches its floor (default: the `steps` given to train()). */
  decaySteps?: number;
  /** Cosine floor as a fraction of lr (default 0.1). */
  minLrRatio?: number;

  /** Clip the global gradient norm to this value (default 1.0; null turns clipping off). */
  clipNorm?: number | null;
  /** Average gradients over this many micro-batches per optimizer step (default 1). */
  gradAccumulation?: number;
  /** Stop with a TrainingError after this many non-finite steps in a row (default 5). */
  maxNonFiniteSteps?: number;

  /** Evaluate every N steps and at the last step. Needs `evalSource` or `evaluate`. */
  evalEvery?: number;
  /** Held-out batches; each evaluation rewinds it to where it was when training started. */
  evalSource?: DataSource;
  /** Batches per evaluation from `evalSource` (default 8). */
  evalBatches?: number;
  /** A custom evaluation returning the mean eval loss (used instead of `evalSource`). */
  evaluate?: (model: TrainableModel) => number | Promise<number>;

  /** Run directory: metrics.jsonl, loss.svg and checkpoints/. Without it nothing is written. */
  outDir?: string;
  /** Checkpoint every N steps (a final checkpoint is always written when outDir is set). */
  checkpointEvery?: number;
  /** Keep the newest K checkpoints (default 3). */
  keepLast?: number;
  /** Write a metrics line every N steps (default 10; evaluations and the last step always log). */
  logEvery?: number;

  /** Training-loop hooks (the 'trainer' slot), called in order. */
  hooks?: TrainerHooks[];
  /** Seed of the trainer's rng, from which every step's dropout rng is forked (default 0). */
  seed?: number;
  /** Progress display (default createProgress(): a bar on a terminal, lines elsewhere). */
  progress?: Progress;
  /** Where warnings and notes go (default core's consoleLogger). */
  logger?: Logger;
}

export interface TrainOptions {
  /** Train until the trainer's step count reaches this number. */
  steps: number;
  /**
   * Continue from a checkpoint first: `true` for the newest one in outDir (starting afresh
   * when there is none), or a path to a checkpoint or run directory.
   */
  resume?: boolean | string;
}

const isFunction = (v: unknown) => typeof v === 'function';
const isObject = (v: unknown) => typeof v === 'object' && v !== null;
const isDataSource = (v: unknown) =>
  isObject(v) &&
  ['next', 'state', 'restore'].every((k) => isFunction((v as Record<string, unknown>)[k]));

const positiveInt = z.number().int().positive();

const schema = z
  .object({
    lr: z.number().positive().finite().default(3e-4),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: z.number().positive().finite().default(1e-8),
    weightDecay: z.number().min(0).finite().default(0.01),
    decay: z.custom<NonNullable<TrainerOptions['decay']>>(isFunction).optional(),
    schedule: z.enum(['cosine', 'constant']).default('cosine'),
    warmupSteps: z.number().int().min(0).default(0),
    decaySteps: positiveInt.optional(),
    minLrRatio: z.number().min(0).max(1).default(0.1),
    clipNorm: z.number().positive().finite().nullable().default(1),
    gradAccumulation: positiveInt.default(1),
    maxNonFiniteSteps: positiveInt.default(5),
    evalEvery: positiveInt.optional(),
    evalSource: z.custom<DataSource>(isDataSource).optional(),
    evalBatches: positiveInt.default(8),
    evaluate: z.custom<NonNullable<TrainerOptions['evaluate']>>(isFunction).optional(),
    outDir: z.string().min(1).optional(),
    checkpointEvery: positiveInt.optional(),
    keepLast: positiveInt.default(3),
    logEvery: positiveInt.default(10),
    hooks: z.array(z.custom<TrainerHooks>(isObject)).default([]),
    seed: z.number().int().default(0),
    progress: z
      .custom<Progress>((v) => isObject(v) && isFunction((v as Progress).start))
      .optional(),
    logger: z
      .custom<Logger>(
        (v) =>
          isObject(v) &&
          ['debug', 'info', 'warn'].every((k) => isFunction((v as Record<string, unknown>)[k])),
      )
      .optional(),
  })
  .strict();

export type ResolvedTrainerOptions = z.infer<typeof schema>;

/** What each option must be, for error messages. */
const EXPECTED: Record<keyof ResolvedTrainerOptions, string> = {
  lr: 'a positive number such as 3e-4',
  betas: 'two numbers in [0, 1) such as [0.9, 0.999]',
  eps: 'a small positive number such as 1e-8',
  weightDecay: '0 (off) or a small positive number such as 0.01',
  decay: 'a function (name, param) => boolean',
  schedule: '"cosine" or "constant"',
  warmupSteps: 'a whole number of steps >= 0',
  decaySteps: 'a whole number of steps >= 1',
  minLrRatio: 'a fraction in [0, 1] such as 0.1',
  clipNorm: 'a positive number such as 1.0, or null for no clipping',
  gradAccumulation: 'a whole number >= 1',
  maxNonFiniteSteps: 'a whole number >= 1',
  evalEvery: 'a whole number of steps >= 1',
  evalSource: 'a DataSource (an object with next(), state() and restore())',
  evalBatches: 'a whole number >= 1',
  evaluate: 'a function (model) => mean eval loss',
  outDir: 'a directory path',
  checkpointEvery: 'a whole number of steps >= 1',
  keepLast: 'a whole number >= 1',
  logEvery: 'a whole number of steps >= 1',
  hooks: 'an array of TrainerHooks objects',
  seed: 'an integer',
  progress: 'a Progress service (an object with start(label, total))',
  logger: 'a Logger (an object with debug, info and warn)',
};

/** Option values that fully describe a run and are stored in checkpoints. */
export const RECORDED_OPTIONS = [
  'lr',
  'betas',
  'eps',
  'weightDecay',
  'schedule',
  'warmupSteps',
  'decaySteps',
  'minLrRatio',
  'clipNorm',
  'gradAccumulation',
  'seed',
] as const satisfies ReadonlyArray<keyof ResolvedTrainerOptions>;

export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0];
      throw new ConfigError(
        `trainer.${key}`,
        `unknown option.${didYouMean(key, Object.keys(EXPECTED))} (options: ${Object.keys(EXPECTED).join(', ')})`,
      );
    }
    const field = String(issue.path[0]) as keyof ResolvedTrainerOptions;
    const value = (options as Record<string, unknown>)[field];
    throw new ConfigError(
      `trainer.${issue.path.join('.')}`,
      `expected ${EXPECTED[field]}; got ${describeValue(value)}`,
    );
  }
  const resolved = parsed.data;
  if (resolved.evalEvery !== undefined && !resolved.evalSource && !resolved.evaluate) {
    throw new ConfigError(
      'trainer.evalEvery',
      `evalEvery: ${resolved.evalEvery} needs something to evaluate on: pass evalSource (a DataSource) or evaluate (a function).`,
    );
  }
  if (resolved.checkpointEvery !== undefined && !resolved.outDir) {
    throw new ConfigError(
      'trainer.checkpointEvery',
      `checkpointEvery: ${resolved.checkpointEvery} needs outDir, the run directory the checkpoints go to.`,
    );
  }
  return resolved;
}
