/**
 * Building a model from the "model" section of a run config. @weft/nn's errors name paths
 * inside the model config; here they are prefixed with the file and `model.` so they point
 * into the file the user edits.
 */
import { ConfigError, IncompatibleError, UnknownKindError, WeftError, type Registry } from '@weft/core';
import { buildModel, CausalLM, type WeftModel } from '@weft/nn';

const LEADING_PATH = /^((?:\(root\))|[A-Za-z_$][\w$]*(?:\[\d+\])*(?:\.[\w$]+(?:\[\d+\])*)*): /;

/** `dModel: expected ...` -> `config.json: model.dModel: expected ...`. */
export function prefixModelPaths(message: string, source: string): string {
  return message
    .split('\n')
    .map((line) => {
      const m = LEADING_PATH.exec(line);
      if (!m) return `${source}: model: ${line}`;
      const path = m[1] === '(root)' ? 'model' : `model.${m[1]}`;
      return `${source}: ${path}: ${line.slice(m[0].length)}`;
    })
    .join('\n');
}

export function buildModelFromConfig(registry: Registry, modelConfig: unknown, source: string): WeftModel {
  try {
    return buildModel(registry, modelConfig);
  } catch (error) {
    if (!WeftError.isInstance(error)) throw error;
    if (ConfigError.isInstance(error) || UnknownKindError.isInstance(error)) throw new ConfigError('', prefixModelPaths(error.message, source));
    if (IncompatibleError.isInstance(error)) throw new IncompatibleError(prefixModelPaths(error.message, source));
    throw error;
  }
}

/** The CLI trains and samples language models; other tasks are refused with the reason. */
export function asCausalLM(model: WeftModel, source: string): CausalLM {
  if (model instanceof CausalLM) return model;
  const task = (model.config as { task?: string }).task;
  model.dispose();
  throw new ConfigError('', `${source}: model.task: the weft CLI trains causal language models; got "${task}". Set "task": "causal-lm" (or leave it out).`);
}
