/**
 * Core's wasm Identity / same-dtype Cast share their input's buffer (kernels/wasm/ShareData.ts).
 * Sharing must be invisible: values equal, each tensor outlives the other's disposal, buffers
 * are freed when the last reference goes, and a real dtype change still converts.
 */
import { tf, useBackend } from '../src/index.js';

describe('wasm Identity / Cast without copies', () => {
  beforeAll(() => useBackend('wasm'));

  it('a clone keeps its values after the original is disposed, and frees the buffer last', () => {
    const buffers = tf.memory().numDataBuffers;
    const x = tf.tensor2d([1.5, -2, 3, 4.25], [2, 2]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(buffers + 1); // one buffer, three tensors
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2, 3, 4.25]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1.5, -2, 3, 4.25]);
    z.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers);
  });

  it('a dtype change still converts', () => {
    const x = tf.tensor1d([1.75, -2.5, 3]);
    const i = tf.cast(x, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([x, i]);
  });

  it('a variable assigned from a clone is not changed by later work on the original', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const v = tf.variable(tf.zeros([3]));
    v.assign(tf.clone(x));
    const y = tf.add(x, 1);
    x.dispose();
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(y.dataSync())).toEqual([2, 3, 4]);
    tf.dispose([v, y]);
  });

  it('gradients pass through identity and cast', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.cast(tf.clone(t), 'float32'), tf.tensor1d([2, 3, 4]))))(x);
    expect(Array.from(g.dataSync())).toEqual([2, 3, 4]);
    tf.dispose([x, g]);
  });
});
