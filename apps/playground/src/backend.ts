/**
 * Picking the compute backend in the browser: WebGPU when the browser has it, else WASM, else
 * CPU. tfjs's wasm backend fetches its .wasm binaries at start-up; the Vite config copies them
 * to `tfjs-wasm/` next to the page, and setWasmPaths points tfjs there.
 */
import { tf, useBackend, type BackendName } from '@weft/core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// Registers the webgpu backend factory. Core's useBackend would import it by its bare name at
// run time, which a browser cannot resolve, so the page bundles it up front.
import '@tensorflow/tfjs-backend-webgpu';

export type BackendChoice = 'auto' | BackendName;

export const WASM_DIRECTORY = 'tfjs-wasm/';

setWasmPaths(new URL(WASM_DIRECTORY, document.baseURI).href);

/** Switches tfjs to `choice` (auto: the first of webgpu, wasm, cpu that starts); returns the backend in use and why others were skipped. */
export async function selectBackend(choice: BackendChoice): Promise<{ backend: string; notes: string[] }> {
  const order: BackendName[] = choice === 'auto' ? ['webgpu', 'wasm', 'cpu'] : [choice];
  const notes: string[] = [];
  for (const name of order) {
    try {
      await useBackend(name);
      return { backend: tf.getBackend(), notes };
    } catch (error) {
      notes.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(`No backend could start. ${notes.join(' ')}`);
}
