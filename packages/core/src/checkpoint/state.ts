/**
 * Model weights <-> safetensors bytes. The model config and package versions travel in
 * `__metadata__`, so a checkpoint says what built it and a mismatched load fails clearly.
 */
import { tf } from '../tfjs.js';
import { CheckpointError } from '../errors.js';
import type { Module } from '../module.js';
import { decodeSafetensors, encodeSafetensors, type Safetensors } from './safetensors.js';

/** Read every parameter of a module (and optional extra tensors) into safetensors bytes. */
export async function serializeModule(
  module: Module,
  metadata: Record<string, string> = {},
  extra: Record<string, tf.Tensor> = {},
): Promise<Uint8Array> {
  const records: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  const all: Array<[string, tf.Tensor]> = [...module.namedParameters(), ...Object.entries(extra)];
  for (const [name, t] of all) {
    if (name in records) throw new CheckpointError(`Two tensors are named "${name}"`);
    const data = await t.data();
    records[name] = { shape: t.shape, data: t.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data) };
  }
  return encodeSafetensors(records, metadata);
}

/** Turn decoded records into tfjs tensors (caller owns and disposes them). */
export function recordsToTensors(file: Safetensors, names?: string[]): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const name of names ?? Object.keys(file.tensors)) {
    const r = file.tensors[name];
    if (!r) throw new CheckpointError(`Checkpoint has no tensor "${name}"`);
    const dtype = r.data instanceof Float32Array ? 'float32' : r.data instanceof Int32Array ? 'int32' : r.dtype === 'BOOL' ? 'bool' : 'int32';
    out[name] = tf.tensor(r.data instanceof Uint8Array && dtype === 'int32' ? Int32Array.from(r.data) : r.data, r.shape, dtype);
  }
  return out;
}

/** Load safetensors bytes into a module's parameters (strict name and shape match). */
export function loadModuleState(module: Module, bytes: Uint8Array, source?: string): Safetensors {
  const file = decodeSafetensors(bytes, { source });
  const names = module.namedParameters().map(([n]) => n);
  const missing = names.filter((n) => !(n in file.tensors));
  if (missing.length) {
    throw new CheckpointError(
      `Checkpoint${source ? ` ${source}` : ''} lacks ${missing.length} parameter(s) of this model (first: ${missing.slice(0, 3).join(', ')}). ` +
        'It was probably saved from a model with a different config.',
    );
  }
  const tensors = recordsToTensors(file, names);
  try {
    module.loadStateDict(tensors, false);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return file;
}
