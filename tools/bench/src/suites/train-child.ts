/**
 * Child process of the `train` suite (see train-child-process.ts): argv[2] is a
 * TrainChildRequest as JSON; prints one RESULT_MARKER line with the measurement or the error.
 */
import 'reflect-metadata'; // tsyringe (inside @weft/core) needs it once, at the entry
import { startBackend } from '../backend.js';
import { benchRegistry } from '../plugins.js';
import { measureTrainVariant, trainConfigNamed } from './train.js';
import {
  RESULT_MARKER,
  type TrainChildRequest,
  type TrainChildResult,
} from './train-child-process.js';

async function measure(request: TrainChildRequest): Promise<TrainChildResult> {
  const backend = await startBackend(request.backend, request.threads);
  if (!backend.ok) return { error: backend.note ?? 'backend unavailable' };
  const { registry } = await benchRegistry();
  try {
    const config = trainConfigNamed(request.config);
    return measureTrainVariant(registry, config, request.slot, request.kind, request.steps);
  } catch (error) {
    return { error: ((error as Error)?.message ?? String(error)).split('\n')[0].slice(0, 200) };
  }
}

const result = await measure(JSON.parse(process.argv[2]) as TrainChildRequest);
process.stdout.write(RESULT_MARKER + JSON.stringify(result) + '\n');
process.exit(0); // wasm thread-pool workers must not keep the process alive
