/**
 * Multi-threaded wasm in Node. tfjs's threaded wasm build runs XNNPACK on a pthread pool,
 * but out of the box Node gets one thread, for three reasons this module works around:
 * 1. tfjs's multithreading probe answers false in Node, so the single-threaded build loads;
 * 2. the pthread workers are started from `blob:` URLs, which Node's worker_threads refuse —
 *    we hand Emscripten a worker file (wasm-threads/pthread-worker.cjs) that runs tfjs's own
 *    worker code and serves it the module factory from the package;
 * 3. tfjs caps the pool at half of `emscripten_num_logical_cores()` (it assumes two hardware
 *    threads per core), which on Node is `os.cpus().length` — so we report twice the wanted
 *    count while the module starts.
 * The pool size is fixed when the wasm backend first starts: call `setWasmThreads` (or set
 * WEFT_WASM_THREADS) before `useBackend('wasm')` / `ensureBackend()`.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tfjs.js';
import { BackendError, ConfigError } from '../errors.js';

/** tfjs's wasm build pre-creates 8 workers and never uses more. */
export const MAX_WASM_THREADS = 8;

const WORKER_FILE = fileURLToPath(new URL('../../wasm-threads/pthread-worker.cjs', import.meta.url));

let requested: number | undefined;
let started = false;

function checkThreads(threads: number, field: string): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new ConfigError(
      field,
      `${JSON.stringify(threads)} is not a thread count: use a whole number from 1 to ${MAX_WASM_THREADS} (this machine has ${os.cpus().length} CPU cores).`,
    );
  }
  return threads;
}

/** Ask for `threads` wasm threads (1 = the single-threaded build). Call before the wasm backend starts. */
export function setWasmThreads(threads: number): void {
  checkThreads(threads, 'wasm threads');
  if (started && threads !== requested) {
    throw new BackendError(
      `The wasm backend already started with ${wasmThreads()} thread(s); its pool cannot be resized. Set the thread count before useBackend('wasm') (or set WEFT_WASM_THREADS).`,
    );
  }
  requested = threads;
}

/** Threads the wasm backend runs on (1 until it has started threaded). */
export function wasmThreads(): number {
  try {
    return getThreadsCount();
  } catch {
    return 1;
  }
}

function threadsWanted(): number {
  if (requested !== undefined) return requested;
  const fromEnv = process.env.WEFT_WASM_THREADS;
  return fromEnv === undefined || fromEnv === '' ? 1 : checkThreads(Number(fromEnv), 'WEFT_WASM_THREADS');
}

/** Wraps the first `tf.setBackend('wasm')` (installed by `@weft/core/node`). */
export async function startWasm(start: () => Promise<boolean>): Promise<boolean> {
  // A restarted backend (after tf.engine().reset()) gets the same pool again.
  const threads = started ? requested! : threadsWanted();
  started = true;
  requested = threads;
  if (threads === 1) return start();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  const realCpus = os.cpus;
  const realCreateObjectURL = URL.createObjectURL;
  // tfjs makes two blobs: the worker script (application/javascript), which Node cannot load
  // from a blob: URL, and the module factory, which our worker file serves itself.
  URL.createObjectURL = (blob: Blob) =>
    blob.type === 'application/javascript' ? WORKER_FILE : realCreateObjectURL(blob);
  os.cpus = () => Array.from({ length: 2 * threads }, () => realCpus()[0]);
  try {
    const ok = await start();
    unrefWorkers();
    return ok;
  } finally {
    os.cpus = realCpus;
    URL.createObjectURL = realCreateObjectURL;
  }
}

interface NodeWorker {
  unref?: () => void;
}
interface PThreadPool {
  unusedWorkers: NodeWorker[];
  runningWorkers: NodeWorker[];
}

/**
 * XNNPACK's pool threads wait for work forever, and Emscripten keeps running workers
 * referenced, so Node would never exit. The main thread blocks while the pool computes, so
 * letting the workers go unreferenced loses nothing.
 */
function unrefWorkers(): void {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreadPool } } | undefined;
  const pool = backend?.wasm?.PThread;
  for (const worker of [...(pool?.unusedWorkers ?? []), ...(pool?.runningWorkers ?? [])]) worker.unref?.();
}
