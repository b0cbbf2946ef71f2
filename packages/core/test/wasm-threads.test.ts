/**
 * Multi-threaded wasm in Node: the pool really has the requested threads, and results equal
 * the cpu backend's. A test file has its own tfjs engine, so the wasm module starts here.
 */
import { tf, useBackend } from '../src/index.js';
import { setWasmThreads, wasmThreads } from '../src/node/index.js';

describe('wasm threads in Node', () => {
  // Disposing the backend terminates its pthread workers, so jest can exit.
  afterAll(() => tf.removeBackend('wasm'));

  it('refuses a thread count that is not a whole number in range, naming the fix', () => {
    expect(() => setWasmThreads(0)).toThrow(/wasm threads: 0 is not a thread count: use a whole number from 1 to 8/);
    expect(() => setWasmThreads(2.5)).toThrow(/wasm threads: 2.5 is not/);
  });

  it('starts a pool of 2 threads whose matmul and softmax equal the cpu backend', async () => {
    const a = tf.randomNormal([96, 80], 0, 1, 'float32', 1);
    const b = tf.randomNormal([80, 64], 0, 1, 'float32', 2);
    const expected = tf.tidy(() => tf.softmax(tf.matMul(a, b)).arraySync());
    const [aData, bData] = [a.arraySync(), b.arraySync()];
    tf.dispose([a, b]);

    setWasmThreads(2);
    await useBackend('wasm');
    expect(wasmThreads()).toBe(2);
    const actual = tf.tidy(() => tf.softmax(tf.matMul(tf.tensor(aData), tf.tensor(bData))).arraySync()) as number[][];
    const flat = (x: number[][]) => x.flat();
    const diff = Math.max(...flat(actual).map((v, i) => Math.abs(v - flat(expected as number[][])[i])));
    expect(diff).toBeLessThan(1e-5);
    // The pool is fixed once the backend started.
    expect(() => setWasmThreads(1)).toThrow(/already started with 2 thread\(s\)/);
  });
});
