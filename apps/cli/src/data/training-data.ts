/**
 * Adapter to @weft/tasks: the data a run config's "data" section names, as token arrays or a
 * synthetic task, and the training stream drawn from it.
 */
import { ConfigError, type DataSource } from '@weft/core';
import { ByteTokenizer, createTask, LanguageModelingSource, splitTrainValidation, TaskSource, type SyntheticTask, type Tokenizer } from '@weft/tasks';
import { loadBrownCorpus, loadTextFiles } from '@weft/tasks/node';
import type { DataSection } from '../config/run-config.js';

export interface TextData {
  kind: 'text';
  tokenizer: Tokenizer;
  train: Int32Array;
  validation: Int32Array;
  /** e.g. "the Brown corpus (6.0M bytes)". */
  description: string;
}

export interface TaskData {
  kind: 'task';
  task: SyntheticTask;
  description: string;
}

export type TrainingData = TextData | TaskData;

/** Re-point @weft/tasks' option paths into the run config: `path: ...` -> `data.path: ...`. */
function underData(error: unknown, field: string): unknown {
  if (!ConfigError.isInstance(error)) return error;
  const message = error.path ? error.message.slice(error.path.length + 2) : error.message;
  return new ConfigError(`data.${field}${error.path && error.path !== field ? `.${error.path}` : ''}`, message);
}

function textData(text: string, validationFraction: number, what: string): TextData {
  const tokenizer = new ByteTokenizer();
  const tokens = tokenizer.encode(text);
  const { train, validation } = splitTrainValidation(tokens, validationFraction);
  const size = tokens.length >= 1e6 ? `${(tokens.length / 1e6).toFixed(1)}M` : tokens.length.toLocaleString('en-US');
  return { kind: 'text', tokenizer, train, validation, description: `${what} (${size} bytes, ${(validationFraction * 100).toFixed(1)}% held out)` };
}

export async function loadTrainingData(data: DataSection): Promise<TrainingData> {
  if (data.task) {
    let task: SyntheticTask;
    try {
      task = createTask(data.task.name, data.task.options);
    } catch (error) {
      throw underData(error, 'task');
    }
    return { kind: 'task', task, description: `the synthetic task "${task.name}" (seq ${task.seqLen}, vocab ${task.vocabSize})` };
  }
  if (data.path) {
    let text: string;
    try {
      text = await loadTextFiles(data.path);
    } catch (error) {
      throw underData(error, 'path');
    }
    return textData(text, data.validationFraction, data.path);
  }
  return textData(await loadBrownCorpus(), data.validationFraction, 'the Brown corpus');
}

/** The stream of training batches. For a task the sequence length is the task's own. */
export function trainingSource(data: TrainingData, options: { batch: number; seq: number; seed: number }): DataSource {
  if (data.kind === 'task') return new TaskSource(data.task, { batchSize: options.batch, seed: options.seed });
  return new LanguageModelingSource(data.train, { batchSize: options.batch, seqLen: options.seq, seed: options.seed });
}

/** The sequence length the model will see. */
export function sequenceLength(data: TrainingData, seq: number): number {
  return data.kind === 'task' ? data.task.seqLen : seq;
}
