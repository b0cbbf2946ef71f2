/**
 * A subset of core's checks on WebGPU (Dawn in Node; SwiftShader where there is no GPU).
 * CI installs the driver (.ci/run: libvulkan1 + chromium). Where no adapter exists the suite
 * reports why and is skipped rather than failed; WEFT_REQUIRE_WEBGPU=1 makes it fail instead.
 */
import '@weft/core/node';
import { BackendError, Rng, tf, useBackend } from '@weft/core';
import { expectTensorsClose } from '@weft/core/testing';

let available = false;
let reason = '';

beforeAll(async () => {
  try {
    await useBackend('webgpu');
    available = true;
  } catch (e) {
    reason = (e as Error).message;
    if (process.env.WEFT_REQUIRE_WEBGPU === '1' || !BackendError.isInstance(e)) throw e;
    console.warn(`WebGPU tests skipped: ${reason}`);
  }
}, 60000);

afterAll(() => useBackend('cpu'));

function onBoth<T extends tf.Tensor>(f: () => T): Promise<[Float32Array, Float32Array]> {
  return (async () => {
    await useBackend('webgpu');
    const gpu = tf.tidy(f);
    const g = (await gpu.data()) as Float32Array;
    gpu.dispose();
    await useBackend('cpu');
    const cpu = tf.tidy(f);
    const c = cpu.dataSync() as Float32Array;
    cpu.dispose();
    return [g, c];
  })();
}

describe('webgpu backend', () => {
  it('runs matmul, softmax and a gradient through gather like the cpu backend', async () => {
    if (!available) return;
    const rng = new Rng(2);
    const a = rng.normalArray(6 * 5);
    const b = rng.normalArray(5 * 4);
    const [g1, c1] = await onBoth(() => tf.softmax(tf.matMul(tf.tensor2d(a, [6, 5]), tf.tensor2d(b, [5, 4]))));
    expectTensorsClose(g1, c1, { atol: 1e-5, rtol: 1e-4 });
    const table = rng.normalArray(4 * 3);
    const [g2, c2] = await onBoth(() =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d([0, 3, 3], 'int32')))))(tf.tensor2d(table, [4, 3])),
    );
    expectTensorsClose(g2, c2, { atol: 1e-5, rtol: 1e-4 });
  });

  it('trains an embedding + linear model (loss falls)', async () => {
    if (!available) return;
    await useBackend('webgpu');
    const rng = new Rng(5);
    const emb = tf.variable(rng.normalTensor([8, 8], 0, 0.5));
    const w = tf.variable(rng.normalTensor([8, 8], 0, 0.5));
    const ids = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const targets = tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 0], 'int32'), 8);
    const opt = tf.train.adam(0.1);
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(targets, tf.matMul(tf.gather(emb, ids), w)) as tf.Scalar, true)!;
      losses.push((await l.data())[0]);
      l.dispose();
    }
    expect(losses[19]).toBeLessThan(losses[0] * 0.5);
    tf.dispose([emb, w, ids, targets]);
    opt.dispose();
  });
});
