/**
 * Suite `train`: tokens/s of a full training step — forward, backward (tf.variableGrads) and
 * an AdamW update from @weft/train — for the reference configs, one row per installed
 * attention kernel and mixer. tokens/s = B·L / median step time.
 */
import { Rng, tf, type Batch, type Registry } from '@weft/core';
import { buildModel, type CausalLM } from '@weft/nn';
import { AdamW, accumulateGradients } from '@weft/train';
import { restartBackend } from '../backend.js';
import { median } from '../measure.js';
import type { BenchOptions, BenchRow } from '../options.js';
import { benchVariants, providerOf } from '../plugins.js';
import { runTrainChild, type TrainChildRequest } from './train-child-process.js';

export interface TrainConfig {
  name: string;
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  L: number;
  batch: number;
  /** Timed steps relative to options.trainSteps (long configs run fewer). */
  steps: (options: BenchOptions) => number;
}

/** The configs torch_baseline.py ports (keep the two in step). */
export const TRAIN_CONFIGS: readonly TrainConfig[] = [
  {
    name: 'reference',
    vocab: 256,
    dModel: 128,
    layers: 4,
    heads: 4,
    L: 256,
    batch: 8,
    steps: (o) => o.trainSteps,
  },
  {
    name: 'long',
    vocab: 256,
    dModel: 256,
    layers: 6,
    heads: 4,
    L: 2048,
    batch: 1,
    steps: (o) => Math.max(1, Math.ceil(o.trainSteps / 2)),
  },
];

const TINY: TrainConfig = {
  name: 'tiny',
  vocab: 32,
  dModel: 16,
  layers: 1,
  heads: 2,
  L: 16,
  batch: 2,
  steps: () => 1,
};

export function trainKey(config: TrainConfig): string {
  return `train/${config.name}/B${config.batch}/L${config.L}/d${config.dModel}/n${config.layers}`;
}

/** The model JSON for one variant: the attention kernel `kind`, or the mixer `kind`. */
export function modelConfig(
  config: TrainConfig,
  slot: 'attention' | 'mixer',
  kind: string,
): object {
  const base = {
    vocab: config.vocab,
    dModel: config.dModel,
    layers: config.layers,
    heads: config.heads,
    maxLen: config.L,
    seed: 0,
  };
  return slot === 'attention' ? { ...base, attention: { kind } } : { ...base, mixer: { kind } };
}

function randomBatch(config: TrainConfig, rng: Rng): Batch {
  const ids = Array.from({ length: config.batch * (config.L + 1) }, () =>
    Math.floor(rng.uniform() * config.vocab),
  );
  return tf.tidy(() => {
    const all = tf.tensor2d(ids, [config.batch, config.L + 1], 'int32'); // [B, L+1]
    return {
      inputs: tf.slice(all, [0, 0], [config.batch, config.L]),
      targets: tf.slice(all, [0, 1], [config.batch, config.L]),
    };
  });
}

/** One optimizer step; returns its wall time in ms. */
function trainStep(
  model: CausalLM,
  optimizer: AdamW,
  params: ReturnType<CausalLM['namedParameters']>,
  batch: Batch,
  rng: Rng,
): number {
  const t0 = performance.now();
  const { loss, grads } = accumulateGradients(params, 1, () =>
    model.loss(batch, { training: true, rng }),
  );
  optimizer.step(grads);
  loss.dataSync();
  tf.dispose([loss, ...Object.values(grads)]);
  return performance.now() - t0;
}

/** The timed numbers of one training variant. */
export interface TrainMeasurement {
  ms: number;
  tokensPerSec: number;
  steps: number;
  leakedTensors: number;
}

/**
 * Build the model for (slot, kind), take one warm-up and `steps` timed optimizer steps, and
 * dispose everything. Throws when the variant cannot train (e.g. the wasm heap runs out).
 */
export function measureTrainVariant(
  registry: Registry,
  config: TrainConfig,
  slot: 'attention' | 'mixer',
  kind: string,
  steps: number,
): TrainMeasurement {
  let model: CausalLM | undefined;
  let optimizer: AdamW | undefined;
  const rng = new Rng(1);
  const batch = randomBatch(config, rng);
  try {
    model = buildModel(registry, modelConfig(config, slot, kind)) as CausalLM;
    const params = model.namedParameters().filter(([, p]) => p.trainable);
    optimizer = new AdamW(params, { lr: 1e-3 });
    const before = tf.memory().numTensors;
    trainStep(model, optimizer, params, batch, rng); // warm-up (also creates nothing new: AdamW's moments exist up front)
    const samples = Array.from({ length: steps }, () =>
      trainStep(model!, optimizer!, params, batch, rng),
    );
    const ms = median(samples);
    return {
      ms,
      tokensPerSec: (config.batch * config.L) / (ms / 1000),
      steps: samples.length,
      leakedTensors: tf.memory().numTensors - before,
    };
  } finally {
    tf.dispose([batch.inputs, batch.targets]);
    optimizer?.dispose();
    model?.dispose();
  }
}

/** The train configs a run covers. */
export function trainConfigsOf(options: BenchOptions): readonly TrainConfig[] {
  return options.tiny ? [TINY] : TRAIN_CONFIGS.filter((c) => options.trainConfigs.includes(c.name));
}

/** Look a config up by name (the child process receives names). */
export function trainConfigNamed(name: string): TrainConfig {
  const config = [...TRAIN_CONFIGS, TINY].find((c) => c.name === name);
  if (!config)
    throw new Error(
      `Unknown train config "${name}" (choose one of ${[...TRAIN_CONFIGS, TINY].map((c) => c.name).join(', ')}).`,
    );
  return config;
}

/** In this process; after a failure the backend restarts (a failed allocation can leave the wasm heap unusable). */
async function measureHere(
  registry: Registry,
  request: TrainChildRequest,
): Promise<TrainMeasurement | { error: string }> {
  try {
    return measureTrainVariant(
      registry,
      trainConfigNamed(request.config),
      request.slot,
      request.kind,
      request.steps,
    );
  } catch (error) {
    await restartBackend();
    return { error: ((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200) };
  }
}

export async function trainSuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const config of trainConfigsOf(options)) {
    for (const { slot, kind, skip } of benchVariants(registry, options.kinds)) {
      const shape = {
        config: config.name,
        B: config.batch,
        L: config.L,
        dModel: config.dModel,
        layers: config.layers,
        heads: config.heads,
        vocab: config.vocab,
      };
      const base = {
        suite: 'train' as const,
        key: trainKey(config),
        kind: slot === 'mixer' ? `mixer:${kind}` : kind,
        plugin: providerOf(registry, slot, kind),
        shape,
      };
      if (skip) {
        rows.push({ ...base, status: 'skipped', note: skip, metrics: {} });
        continue;
      }
      options.checkpoint?.(rows);
      const request: TrainChildRequest = {
        backend: options.backend,
        threads: options.threads,
        config: config.name,
        slot,
        kind,
        steps: config.steps(options),
      };
      const result = options.isolateTrain
        ? runTrainChild(request)
        : await measureHere(registry, request);
      if ('error' in result) {
        const note = `failed: ${result.error}`;
        rows.push({ ...base, status: 'failed', note, metrics: {} });
        options.log(`train ${config.name} ${kind}: ${note}`);
        continue;
      }
      rows.push({ ...base, status: 'ok', metrics: { ...result } });
      options.log(
        `train ${config.name} ${kind}: ${result.ms.toFixed(0)} ms/step, ${result.tokensPerSec.toFixed(0)} tokens/s`,
      );
    }
  }
  return rows;
}
