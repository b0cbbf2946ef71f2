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

export async function trainSuite(registry: Registry, options: BenchOptions): Promise<BenchRow[]> {
  const configs = options.tiny
    ? [TINY]
    : TRAIN_CONFIGS.filter((c) => options.trainConfigs.includes(c.name));
  const rows: BenchRow[] = [];
  for (const config of configs) {
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
      let model: CausalLM | undefined;
      let optimizer: AdamW | undefined;
      const rng = new Rng(1);
      const batch = randomBatch(config, rng);
      const release = () => {
        tf.dispose([batch.inputs, batch.targets]);
        optimizer?.dispose();
        model?.dispose();
      };
      try {
        model = buildModel(registry, modelConfig(config, slot, kind)) as CausalLM;
        const params = model.namedParameters().filter(([, p]) => p.trainable);
        optimizer = new AdamW(params, { lr: 1e-3 });
        const before = tf.memory().numTensors;
        trainStep(model, optimizer, params, batch, rng); // warm-up (also creates nothing new: AdamW's moments exist up front)
        const samples = Array.from({ length: config.steps(options) }, () =>
          trainStep(model!, optimizer!, params, batch, rng),
        );
        const ms = median(samples);
        const tokensPerSec = (config.batch * config.L) / (ms / 1000);
        rows.push({
          ...base,
          status: 'ok',
          metrics: {
            ms,
            tokensPerSec,
            steps: samples.length,
            leakedTensors: tf.memory().numTensors - before,
          },
        });
        options.log(
          `train ${config.name} ${kind}: ${ms.toFixed(0)} ms/step, ${tokensPerSec.toFixed(0)} tokens/s`,
        );
      } catch (error) {
        const note = `failed: ${((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200)}`;
        rows.push({ ...base, status: 'failed', note, metrics: {} });
        options.log(`train ${config.name} ${kind}: ${note}`);
        await restartBackend(); // a failed allocation can leave the wasm heap unusable (restart disposes everything)
        continue;
      }
      release();
    }
  }
  return rows;
}
