/**
 * The model config: plain JSON, validated before anything is built.
 *
 * Global slot configs (`mixer`, `feedforward`, `norm`, `positional`, ...) apply to every
 * layer; `layout` overrides them per layer (`null` keeps the globals) for hybrids such as
 * [Mamba, attention, attention, attention]. Nested slot fields a mixer declares (an attention
 * mixer's `attention`, `headLayout`, `kvCache`) default to the model-level `attention`,
 * `headLayout` and `kvCache` configs.
 */
import { ConfigError, describeValue, didYouMean, z } from '@weft/core';

const slot = z.union([z.string(), z.looseObject({ kind: z.string() })]);
export type SlotInput = z.infer<typeof slot>;

export const LayerOverrideSchema = z
  .object({
    mixer: slot.optional(),
    feedforward: z.union([slot, z.null()]).optional(),
    norm: slot.optional(),
    positional: slot.optional(),
    attention: slot.optional(),
    headLayout: slot.optional(),
    kvCache: slot.optional(),
  })
  .strict();
export type LayerOverride = z.infer<typeof LayerOverrideSchema>;

export const ReducerSpanSchema = z
  .object({
    /** Index of the first layer that runs on the shortened sequence. */
    at: z.number().int().min(0),
    /** How many layers run shortened before the sequence is restored. */
    span: z.number().int().positive(),
    reducer: slot,
  })
  .strict();

export const ModelConfigSchema = z
  .object({
    task: z.enum(['causal-lm', 'classifier', 'encoder-decoder']).default('causal-lm'),
    vocab: z.number().int().positive(),
    dModel: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive().default(4),
    headDim: z.number().int().positive().optional(),
    maxLen: z.number().int().positive().default(1024),
    dropout: z.number().min(0).lt(1).default(0),
    tieEmbeddings: z.boolean().default(true),
    postNorm: z.boolean().default(false),
    /**
     * "standard": x + branch(x) per sublayer. "reversible": Reformer's reversible residual
     * (y1 = x1 + F(x2), y2 = x2 + G(y1)); activations are recomputed in the backward pass, so
     * their memory does not grow with depth.
     */
    residual: z.enum(['standard', 'reversible'], { message: 'residual must be "standard" (x + branch(x)) or "reversible" (Reformer reversible blocks: activation memory flat in depth)' }).default('standard'),
    embedding: slot.default({ kind: 'learned' }),
    positional: slot.default({ kind: 'sinusoidal' }),
    mixer: slot.default({ kind: 'attention' }),
    attention: slot.default({ kind: 'dense' }),
    headLayout: slot.default({ kind: 'mha' }),
    kvCache: slot.default({ kind: 'full' }),
    feedforward: z.union([slot, z.null()]).default({ kind: 'mlp' }),
    norm: slot.default({ kind: 'layernorm' }),
    layout: z.array(z.union([z.null(), LayerOverrideSchema])).optional(),
    reducers: z.array(ReducerSpanSchema).default([]),
    /** Classifier: number of classes and pooling. */
    classes: z.number().int().min(2).optional(),
    pooling: z.enum(['mean', 'first']).default('mean'),
    /** Encoder-decoder: encoder depth (decoder depth is `layers`). */
    encoderLayers: z.number().int().positive().optional(),
    /**
     * Process inputs longer than this in segments of this length, carrying state across
     * segments (mixers with forwardSegment, and the model-level `memory`).
     */
    segmentLength: z.number().int().positive().optional(),
    /** Model-level segment memory (e.g. memory tokens); needs segmentLength. */
    memory: slot.optional(),
    /** Packages whose plugins this config uses (the CLI imports exactly these). */
    plugins: z.array(z.string()).default([]),
    /** Seed for parameter initialisation. */
    seed: z.number().int().min(0).default(0),
  })
  .strict();

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type ModelConfig = z.output<typeof ModelConfigSchema>;

function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  let value: unknown = input;
  for (const p of issue.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
  if (issue.code === 'unrecognized_keys') {
    const base = path ? `${path}.` : '';
    const shape = path.startsWith('layout') ? Object.keys(LayerOverrideSchema.shape) : Object.keys(ModelConfigSchema.shape);
    return issue.keys
      .map((k) => `${base}${k}: unknown field (fields: ${shape.join(', ')}).${didYouMean(k, shape)}`)
      .join('\n');
  }
  return `${path || '(root)'}: ${issue.message}; got ${describeValue(value)}`;
}

/**
 * residual "reversible" recomputes a block's input from its output (x2 = y2 − G(y1),
 * x1 = y1 − F(x2)): refuse what has no such form.
 */
function checkReversible(config: ModelConfig): void {
  const refuse = (what: string, why: string, fix: string) => {
    throw new ConfigError('residual', `"reversible" cannot be combined with ${what}: ${why}. ${fix}, or set "residual": "standard".`);
  };
  if (config.postNorm) refuse('"postNorm": true', 'a reversible block adds pre-norm branches to the other stream (y1 = x1 + F(x2)), and post-norm normalises the sum, which cannot be undone', 'Set "postNorm": false');
  if (config.task === 'encoder-decoder') refuse('task "encoder-decoder"', "the decoder's cross-attention sublayer has no reversible form here", 'Use task "causal-lm" or "classifier"');
  if (config.reducers.length > 0) refuse('"reducers"', "a reducer changes the sequence length between layers, so a layer's input cannot be recomputed from its output", 'Remove "reducers"');
  if (config.segmentLength !== undefined) refuse(`"segmentLength": ${config.segmentLength}`, 'segment recurrence carries layer states and memory across segments outside the reversible stack', 'Remove "segmentLength" (and "memory")');
}

/** Parse the top level of a model config (slot configs are validated by the builder). */
export function parseModelConfig(input: unknown): ModelConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError('', `A model config must be a JSON object like { "vocab": 256, "dModel": 128, "layers": 4 }; got ${describeValue(input)}`);
  }
  const parsed = ModelConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError('', parsed.error.issues.map((i) => formatIssue(i, input)).join('\n'));
  const config = parsed.data;
  const headDim = config.headDim ?? config.dModel / config.heads;
  if (!Number.isInteger(headDim)) {
    throw new ConfigError('heads', `dModel ${config.dModel} is not divisible by heads ${config.heads}; choose heads dividing dModel or set "headDim" explicitly`);
  }
  if (config.layout && config.layout.length !== config.layers) {
    throw new ConfigError(
      'layout',
      `has ${config.layout.length} entries but "layers" is ${config.layers}; give exactly one entry per layer (null keeps the global settings)`,
    );
  }
  if (config.task === 'classifier' && config.classes === undefined) {
    throw new ConfigError('classes', 'a classifier needs "classes" (the number of labels, at least 2)');
  }
  if (config.task === 'encoder-decoder' && config.reducers.length > 0) {
    throw new ConfigError('reducers', 'token reducers are supported in causal LMs and classifiers, not yet in encoder-decoder models; remove "reducers"');
  }
  if (config.memory !== undefined && config.segmentLength === undefined) {
    throw new ConfigError('memory', 'a segment memory needs "segmentLength" (the length of the segments it carries state across)');
  }
  if (config.residual === 'reversible') checkReversible(config);
  for (const [i, r] of config.reducers.entries()) {
    if (r.at + r.span > config.layers) {
      throw new ConfigError(`reducers[${i}]`, `spans layers ${r.at}..${r.at + r.span - 1} but the model has ${config.layers} layers; lower "at" or "span"`);
    }
  }
  return config;
}
