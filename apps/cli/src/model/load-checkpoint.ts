/**
 * Adapter to @weft/train's checkpoints: rebuild the model a checkpoint stores the config of,
 * with its weights, plus the run config of the run folder it sits in (if any).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CheckpointError, recordsToTensors, tf } from '@weft/core';
import type { CausalLM } from '@weft/nn';
import { readCheckpoint } from '@weft/train';
import { readJsonFile } from '../config/read-json-file.js';
import { parseRunConfig, type RunConfig } from '../config/run-config.js';
import { RUN_CONFIG_FILE } from '../run-dir.js';
import { asCausalLM, buildModelFromConfig } from './build-model.js';
import { createModelRegistry } from './model-registry.js';

export interface LoadedCheckpointModel {
  model: CausalLM;
  /** The checkpoint directory (…/checkpoints/step-000200). */
  dir: string;
  step: number;
  /** The run folder's config.json, when the checkpoint is inside a run folder written by weft train. */
  runConfig?: RunConfig;
}

/** The run folder of `…/<run>/checkpoints/step-N`, if it has our config.json. */
function runConfigOf(checkpointDir: string): RunConfig | undefined {
  const checkpoints = dirname(checkpointDir);
  if (basename(checkpoints) !== 'checkpoints') return undefined;
  const file = join(dirname(checkpoints), RUN_CONFIG_FILE);
  return existsSync(file) ? parseRunConfig(readJsonFile(file, 'run config'), file) : undefined;
}

export async function loadCheckpointModel(path: string): Promise<LoadedCheckpointModel> {
  if (!existsSync(path)) throw new CheckpointError(`No checkpoint at ${path}: the path does not exist. Pass a run folder (runs/…) or a checkpoint folder.`);
  const checkpoint = await readCheckpoint(path);
  const modelConfig = checkpoint.state.modelConfig as { plugins?: string[] };
  if (modelConfig === null || typeof modelConfig !== 'object') {
    throw new CheckpointError(`Checkpoint ${checkpoint.dir} stores no model config; it was not written by weft train.`);
  }
  const registry = await createModelRegistry(modelConfig.plugins ?? [], `the checkpoint's model.plugins`);
  const model = asCausalLM(buildModelFromConfig(registry, modelConfig, `checkpoint ${checkpoint.dir}`), `checkpoint ${checkpoint.dir}`);
  const weights = recordsToTensors(checkpoint.model);
  try {
    model.loadStateDict(weights, true);
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    tf.dispose(Object.values(weights));
  }
  return { model, dir: checkpoint.dir, step: checkpoint.state.step, runConfig: runConfigOf(checkpoint.dir) };
}
