/** The test kit's counting task: targets are the inputs shifted by one, mod V. */
import { Rng, tf, type Tensor } from '../src/index.js';
import { countingBatch } from '../src/testing/index.js';

it('countingBatch: every target is its input + 1 mod V, and rows start anywhere', () => {
  const { inputs, targets } = countingBatch(new Rng(3), 16, 7, 5);
  const x = inputs.arraySync() as number[][];
  const y = targets.arraySync() as number[][];
  expect(inputs.shape).toEqual([16, 7]);
  expect(targets.dtype).toBe('int32');
  x.forEach((row, b) => row.forEach((v, t) => expect(y[b][t]).toBe((v + 1) % 5)));
  x.forEach((row) => row.slice(1).forEach((v, t) => expect(v).toBe((row[t] + 1) % 5)));
  expect(new Set(x.map((row) => row[0])).size).toBeGreaterThan(1);
  tf.dispose([inputs, targets] as Tensor[]);
});
