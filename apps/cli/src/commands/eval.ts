/** weft eval <checkpoint-or-run-dir>: held-out loss / bits per byte, or task accuracy. */
import { BACKEND_NAMES, type BackendName } from '@weft/core';
import { selectBackend, THREADS_OPTION } from '../backend.js';
import { parseRunConfig, type DataSection } from '../config/run-config.js';
import { loadTrainingData } from '../data/training-data.js';
import { UsageError } from '../errors.js';
import { taskAccuracy } from '../eval/task-accuracy.js';
import { validationLoss } from '../eval/validation-loss.js';
import { count, fixed } from '../format.js';
import { loadCheckpointModel } from '../model/load-checkpoint.js';
import type { Command } from './command.js';

export const evalCommand: Command = {
  spec: {
    name: 'eval',
    summary: 'Evaluate a checkpoint: validation loss and bits per byte, or accuracy on a synthetic task.',
    positionals: [{ name: 'checkpoint', description: 'A run folder or a checkpoint folder.', required: true }],
    options: [
      { name: 'task', type: 'string', value: 'NAME', description: 'Score accuracy on this synthetic task instead of the run\'s data.' },
      { name: 'data', type: 'string', value: 'PATH', description: 'Evaluate on this text file or folder instead of the run\'s data.' },
      { name: 'batches', type: 'int', min: 1, value: 'N', description: 'Validation batches (default: the run\'s train.evalBatches).' },
      { name: 'rows', type: 'int', min: 1, value: 'N', description: 'Task rows to score (default 256).' },
      { name: 'backend', type: 'string', choices: BACKEND_NAMES, value: 'NAME', description: 'Compute backend (default wasm).' },
      THREADS_OPTION,
      { name: 'json', type: 'boolean', description: 'Print the result as one JSON line.' },
    ],
    examples: ['weft eval runs/2025-01-31-120000', 'weft eval runs/copy --task copy --json'],
  },

  async run({ positionals, options }, io) {
    if (options.data !== undefined && options.task !== undefined) throw new UsageError('--data and --task both choose what to evaluate on; give one of them.');
    await selectBackend(((options.backend as string) ?? 'wasm') as BackendName, options.threads as number | undefined);
    const loaded = await loadCheckpointModel(positionals[0]);
    const { model, runConfig } = loaded;
    try {
      const base = runConfig ?? parseRunConfig({ model: {} }, 'defaults');
      let data: DataSection = base.data;
      if (options.task !== undefined) data = { task: { name: options.task as string, options: {} }, validationFraction: data.validationFraction };
      else if (options.data !== undefined) data = { path: options.data as string, validationFraction: data.validationFraction };
      const source = await loadTrainingData(data);
      const batch = base.train.batch;
      let result: Record<string, unknown>;
      if (source.kind === 'task') {
        const r = taskAccuracy(model, source.task, { rows: (options.rows as number) ?? 256, batch });
        result = { checkpoint: loaded.dir, step: loaded.step, task: source.task.name, loss: r.loss, accuracy: r.accuracy, exactMatch: r.exactMatch, rows: r.rows };
        if (!options.json) io.out(`${loaded.dir} (step ${loaded.step}) on ${source.description}: loss ${fixed(r.loss)}, accuracy ${(r.accuracy * 100).toFixed(1)}%, exact match ${(r.exactMatch * 100).toFixed(1)}% over ${r.rows} rows`);
      } else {
        const seq = Math.min(base.train.seq, model.resolved.config.maxLen);
        const r = validationLoss(model, source.validation, { batch, seq, maxBatches: (options.batches as number) ?? base.train.evalBatches });
        result = { checkpoint: loaded.dir, step: loaded.step, evalLoss: r.loss, bitsPerByte: r.bitsPerByte, tokens: r.tokens };
        if (!options.json) io.out(`${loaded.dir} (step ${loaded.step}) on ${source.description}: val loss ${fixed(r.loss)}, bits/byte ${fixed(r.bitsPerByte)} over ${count(r.tokens)} tokens`);
      }
      if (options.json) io.out(JSON.stringify(result));
      return 0;
    } finally {
      model.dispose();
    }
  },
};
