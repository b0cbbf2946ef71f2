/** Reading and writing module checkpoints as .safetensors files. */
import { promises as fs } from 'node:fs';
import { CheckpointError } from '../errors.js';
import type { Module } from '../module.js';
import { decodeSafetensors, type Safetensors } from '../checkpoint/safetensors.js';
import { loadModuleState, serializeModule } from '../checkpoint/state.js';
import type { tf } from '../tfjs.js';
import { writeFileAtomic } from './atomic-write.js';

export async function saveSafetensorsFile(path: string, module: Module, metadata: Record<string, string> = {}, extra: Record<string, tf.Tensor> = {}): Promise<void> {
  await writeFileAtomic(path, await serializeModule(module, metadata, extra));
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `No checkpoint at ${path}` : `Cannot read checkpoint ${path}: ${(cause as Error).message}`, { cause });
  }
}

export async function readSafetensorsFile(path: string): Promise<Safetensors> {
  return decodeSafetensors(await readBytes(path), { source: path });
}

export async function loadSafetensorsFile(path: string, module: Module): Promise<Safetensors> {
  return loadModuleState(module, await readBytes(path), path);
}
