/**
 * The run config: what `weft train` reads from a JSON file (or configs/default.json).
 *
 *   { "model":   { ...a @weft/nn model config... },
 *     "train":   { "steps": 300, "batch": 16, "seq": 64, "lr": 0.003, ... },
 *     "data":    { "corpus": "brown" } | { "path": "notes/" } | { "task": { "name": "copy", "options": {} } },
 *     "sample":  { "prompt": "The jury said", "maxTokens": 64, "temperature": 0.8, "seed": 0 },
 *     "plugins": ["@weft/pos-rope"] }
 *
 * Validated with zod; every error names the JSON path, the value and what is allowed.
 */
import { BACKEND_NAMES, ConfigError, describeValue, didYouMean, formatPath, z } from '@weft/core';

const positiveInt = z.number().int().positive();

export const TrainSectionSchema = z.strictObject({
  /** Total optimizer steps (a resumed run continues up to this count). */
  steps: positiveInt.default(300),
  batch: positiveInt.default(16),
  seq: positiveInt.default(64),
  lr: z.number().positive().default(3e-3),
  warmupSteps: z.number().int().min(0).default(20),
  schedule: z.enum(['cosine', 'constant']).default('cosine'),
  minLrRatio: z.number().min(0).max(1).default(0.1),
  weightDecay: z.number().min(0).default(0.01),
  clipNorm: z.number().positive().nullable().default(1),
  gradAccumulation: positiveInt.default(1),
  /** Evaluate on held-out data every N steps (and at the end). */
  evalEvery: positiveInt.optional(),
  /** Validation batches per evaluation. */
  evalBatches: positiveInt.default(4),
  checkpointEvery: positiveInt.optional(),
  keepLast: positiveInt.default(3),
  seed: z.number().int().min(0).default(0),
  backend: z.enum(BACKEND_NAMES as [string, ...string[]]).default('wasm'),
});

export const DataSectionSchema = z
  .strictObject({
    /** The bundled corpus. */
    corpus: z.literal('brown').optional(),
    /** A text file, or a directory of text files read recursively. */
    path: z.string().min(1).optional(),
    /** A synthetic task from @weft/tasks. */
    task: z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) }).optional(),
    /** Fraction of the text held out for validation (its end). */
    validationFraction: z.number().gt(0).lt(1).default(0.01),
  })
  .default({ corpus: 'brown', validationFraction: 0.01 });

export const SampleSectionSchema = z
  .strictObject({
    prompt: z.string().min(1).default('The jury said'),
    maxTokens: z.number().int().min(0).default(64),
    temperature: z.number().min(0).default(0.8),
    topK: positiveInt.optional(),
    topP: z.number().gt(0).max(1).optional(),
    seed: z.number().int().min(0).default(0),
  })
  .default({ prompt: 'The jury said', maxTokens: 64, temperature: 0.8, seed: 0 });

export const RunConfigSchema = z.strictObject({
  model: z.record(z.string(), z.unknown()),
  train: TrainSectionSchema.default(TrainSectionSchema.parse({})),
  data: DataSectionSchema,
  sample: SampleSectionSchema,
  plugins: z.array(z.string().min(1)).default([]),
});

export type RunConfig = z.output<typeof RunConfigSchema>;
export type TrainSection = RunConfig['train'];
export type DataSection = RunConfig['data'];

const SECTION_FIELDS: Record<string, string[]> = {
  '': Object.keys(RunConfigSchema.shape),
  train: Object.keys(TrainSectionSchema.shape),
  data: ['corpus', 'path', 'task', 'validationFraction'],
  sample: ['prompt', 'maxTokens', 'temperature', 'topK', 'topP', 'seed'],
  'data.task': ['name', 'options'],
};

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath(issue.path as PropertyKey[]);
  if (issue.code === 'unrecognized_keys') {
    const fields = SECTION_FIELDS[path] ?? [];
    return issue.keys
      .map((k) => `${path ? `${path}.` : ''}${k}: unknown field (fields: ${fields.join(', ')}).${didYouMean(k, fields)}`)
      .join('\n');
  }
  return `${path || '(root)'}: ${issue.message}; got ${describeValue(valueAt(input, issue.path as PropertyKey[]))}`;
}

/** Validate a parsed run config from `source` (a file path or "the default config"). */
export function parseRunConfig(input: unknown, source: string): RunConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError('', `${source}: a run config is a JSON object like { "model": {...}, "train": {...} }; got ${describeValue(input)}.`);
  }
  const parsed = RunConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError('', parsed.error.issues.map((i) => `${source}: ${formatIssue(i, input)}`).join('\n'));
  }
  const config = parsed.data;
  const sources = (['corpus', 'path', 'task'] as const).filter((k) => config.data[k] !== undefined);
  if (sources.length !== 1) {
    throw new ConfigError(
      '',
      `${source}: data: give exactly one of "corpus", "path" or "task"; ${sources.length ? `got ${sources.join(' and ')}` : 'got none'}. ` +
        'Example: "data": { "corpus": "brown" }.',
    );
  }
  return config;
}
