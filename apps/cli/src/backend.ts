/** Choosing and describing the tfjs backend. */
import { tf, useBackend, type BackendName } from '@weft/core';

/** Switch to `name`; WebGPU in Node first loads @weft/core/node, which installs Dawn's navigator.gpu. */
export async function selectBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') await import('@weft/core/node');
  await useBackend(name);
}

/** Threads the wasm backend runs on (it is single-threaded unless the threaded build loaded). */
async function wasmThreads(): Promise<number | undefined> {
  try {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
    return wasm.getThreadsCount?.();
  } catch {
    return undefined;
  }
}

export interface BackendDescription {
  name: string;
  threads?: number;
  simd?: boolean;
}

export async function describeBackend(): Promise<BackendDescription> {
  const name = tf.getBackend();
  if (name !== 'wasm') return { name, ...(name === 'cpu' ? { threads: 1 } : {}) };
  return { name, threads: await wasmThreads(), simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') };
}

export function formatBackend(b: BackendDescription): string {
  const details = [b.threads !== undefined ? `${b.threads} thread${b.threads === 1 ? '' : 's'}` : undefined, b.simd !== undefined ? (b.simd ? 'SIMD' : 'no SIMD') : undefined].filter(Boolean);
  return details.length ? `${b.name} (${details.join(', ')})` : b.name;
}
