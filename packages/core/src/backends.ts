/**
 * Choosing the compute backend: `cpu`, `wasm` (the default in Node) or `webgpu`.
 * WebGPU in Node goes through the `webgpu` package (Dawn); see `@weft/core/node`.
 */
import { tf } from './tfjs.js';
import { BackendError } from './errors.js';

export type BackendName = 'cpu' | 'wasm' | 'webgpu';
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'webgpu'];

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Hook set by `@weft/core/node` so `useBackend('webgpu')` can install Dawn's navigator.gpu. */
let nodeWebGPUInstaller: (() => Promise<void>) | undefined;
export function setNodeWebGPUInstaller(installer: () => Promise<void>): void {
  nodeWebGPUInstaller = installer;
}

/**
 * Hook set by `@weft/core/node` to start the wasm backend with a thread pool: it wraps the
 * first `tf.setBackend('wasm')` (tfjs sizes its pool once, when the module is instantiated).
 */
type WasmStarter = (start: () => Promise<boolean>) => Promise<boolean>;
let nodeWasmStarter: WasmStarter | undefined;
export function setNodeWasmStarter(starter: WasmStarter): void {
  nodeWasmStarter = starter;
}

async function ensureWebGPUBackend(): Promise<void> {
  if (isNode) {
    if (!nodeWebGPUInstaller) {
      throw new BackendError(
        'WebGPU in Node needs `import "@weft/core/node"` (which installs the `webgpu` package\'s navigator.gpu) before useBackend("webgpu").',
      );
    }
    await nodeWebGPUInstaller();
  } else if (typeof navigator === 'undefined' || !('gpu' in navigator)) {
    throw new BackendError('This browser has no WebGPU (navigator.gpu is missing). Use useBackend("wasm") instead.');
  }
  if (!tf.findBackendFactory('webgpu')) {
    const spec = '@tensorflow/tfjs-backend-webgpu';
    try {
      await import(/* @vite-ignore */ spec);
    } catch (cause) {
      throw new BackendError('The webgpu backend needs the package @tensorflow/tfjs-backend-webgpu@4.22.0: npm install it.', { cause });
    }
  }
}

/** Switch tfjs to `name` and wait until it is ready. Throws BackendError with the fix when it cannot start. */
export async function useBackend(name: BackendName): Promise<string> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new BackendError(`Unknown backend "${name}" (choose one of ${BACKEND_NAMES.join(', ')}).`);
  }
  if (name === 'webgpu') await ensureWebGPUBackend();
  let ok = false;
  try {
    const start = () => tf.setBackend(name);
    ok = name === 'wasm' && nodeWasmStarter ? await nodeWasmStarter(start) : await start();
    await tf.ready();
  } catch (cause) {
    throw new BackendError(`The ${name} backend failed to start: ${(cause as Error).message}`, { cause });
  }
  chosen = true;
  if (!ok || tf.getBackend() !== name) {
    const hint =
      name === 'webgpu'
        ? ' No WebGPU adapter was found. Without a GPU, install a software Vulkan driver (Debian: apt-get install chromium, which ships SwiftShader) or use "wasm".'
        : '';
    throw new BackendError(`The ${name} backend could not be initialised.${hint}`);
  }
  return name;
}

/** The backend Weft uses when none is chosen: wasm (tfjs's default would be cpu in Node). */
export const DEFAULT_BACKEND: BackendName = 'wasm';

let chosen = false;

/**
 * Switch to the default backend (wasm) unless `useBackend` already chose one. Until then
 * tfjs runs on cpu, which needs no asynchronous start.
 */
export async function ensureBackend(): Promise<string> {
  if (!chosen) await useBackend(DEFAULT_BACKEND);
  await tf.ready();
  return tf.getBackend();
}
