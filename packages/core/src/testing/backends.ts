/** Run a jest suite once per backend. */
import { tf } from '../tfjs.js';
import { useBackend, type BackendName } from '../backends.js';

/** Backends for tests: WEFT_TEST_BACKENDS=cpu,wasm,webgpu overrides the default cpu+wasm. */
export function testBackends(defaults: BackendName[] = ['cpu', 'wasm']): BackendName[] {
  const env = typeof process !== 'undefined' ? process.env.WEFT_TEST_BACKENDS : undefined;
  return env ? (env.split(',').map((s) => s.trim()) as BackendName[]) : defaults;
}

export function describeWithBackends(name: string, body: (backend: BackendName) => void, backends: BackendName[] = testBackends()): void {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}

/** Run `fn` and report tensors it leaked (numTensors after - before). */
export function leakedTensors(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}

/**
 * Assert that repeating `step` does not grow the tensor count: the count after the last step
 * equals the count after the first (warm-up allocations, e.g. optimizer slots, are allowed in
 * step 1).
 */
export async function expectNoLeaks(step: (i: number) => void | Promise<void>, steps = 100): Promise<void> {
  await step(0);
  const after1 = tf.memory().numTensors;
  for (let i = 1; i < steps; i++) await step(i);
  const afterN = tf.memory().numTensors;
  if (afterN !== after1) {
    throw new Error(`Tensor leak: ${after1} tensors after step 1 but ${afterN} after step ${steps} (${((afterN - after1) / (steps - 1)).toFixed(2)} per step)`);
  }
}
