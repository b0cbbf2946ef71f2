/**
 * Starting the backend a run asked for. WebGPU in Node needs `@weft/core/node` (Dawn);
 * when it cannot start, the run is skipped with the reason rather than failing.
 */
import { tf, useBackend, type BackendName } from '@weft/core';

export interface BackendStart {
  ok: boolean;
  name: string;
  /** Threads the backend computes with (the wasm pool; 1 unless --threads asked for more). */
  threads: number;
  note?: string;
}

export async function startBackend(name: BackendName, threads = 1): Promise<BackendStart> {
  let poolThreads = () => 1;
  try {
    // @weft/core/node installs Dawn for WebGPU and starts wasm with a thread pool.
    const node = await import('@weft/core/node');
    node.setWasmThreads(threads);
    poolThreads = node.wasmThreads;
    await useBackend(name);
  } catch (error) {
    return {
      ok: false,
      name,
      threads: 0,
      note: `backend ${name} unavailable: ${(error as Error).message}`,
    };
  }
  return { ok: true, name: tf.getBackend(), threads: tf.getBackend() === 'wasm' ? poolThreads() : 1 };
}

/**
 * After a failure (typically the wasm heap running out), start a fresh backend instance so
 * the next measurement does not inherit a corrupted heap: `tf.engine().reset()` disposes
 * every backend and tensor, then the same backend starts again.
 */
export async function restartBackend(): Promise<void> {
  const name = tf.getBackend() as BackendName;
  try {
    tf.engine().reset();
  } catch {
    // Disposing tensors of a broken heap can throw too; the new backend instance replaces it.
  }
  await useBackend(name);
}

/**
 * The wasm backend's heap is one 32-bit WebAssembly memory (at most 4 GiB, and fragmented):
 * in practice allocations fail well before 4 GiB, so kernel sweeps on wasm use at most this
 * budget (observed: ~2 GiB peaks succeed, a ~3.8 GiB one failed).
 */
export const WASM_MEMORY_CAP = 2.5 * 1024 ** 3;

export function effectiveMemoryBudget(budget: number): number {
  return tf.getBackend() === 'wasm' ? Math.min(budget, WASM_MEMORY_CAP) : budget;
}
