/** RunningState: bytes are the float32 size of S; dispose frees it; subclasses stay distinct for instanceof. */
import { RunningState, tf } from '../src/index.js';

class AState extends RunningState {}
class BState extends RunningState {}

test('bytes, dispose and instanceof', () => {
  const before = tf.memory().numTensors;
  const a = new AState(tf.zeros([2, 3, 5, 7]), 4);
  expect(a.bytes()).toBe(4 * 2 * 3 * 5 * 7);
  expect(a.tokens).toBe(4);
  expect(a instanceof AState).toBe(true);
  const b = new BState(tf.zeros([1]), 0);
  expect(b instanceof AState).toBe(false);
  a.dispose();
  b.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
