/** Choosing and describing the tfjs backend. */
import { tf, useBackend, type BackendName } from '@weft/core';

/**
 * Switch to `name`. @weft/core/node installs Dawn's navigator.gpu for WebGPU and starts wasm
 * with `threads` pool threads (default: WEFT_WASM_THREADS, else 1).
 */
export async function selectBackend(name: BackendName, threads?: number): Promise<void> {
  const { setWasmThreads } = await import('@weft/core/node');
  if (threads !== undefined) setWasmThreads(threads);
  await useBackend(name);
}

/** The `--threads` option shared by the commands that compute. */
export const THREADS_OPTION = {
  name: 'threads',
  type: 'int',
  min: 1,
  max: 8,
  value: 'N',
  description: 'wasm pool threads (default WEFT_WASM_THREADS, else 1).',
} as const;

async function wasmThreads(): Promise<number> {
  return (await import('@weft/core/node')).wasmThreads();
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
