/** Numeric comparison of tensors with a readable failure message. */
import { tf } from '../tfjs.js';

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

function toArray(x: tf.Tensor | ArrayLike<number> | number): Float64Array {
  if (typeof x === 'number') return Float64Array.of(x);
  if (x instanceof tf.Tensor) return Float64Array.from(x.dataSync() as ArrayLike<number>);
  return Float64Array.from(x as ArrayLike<number>);
}

/** Largest |a-b| and the first index violating |a-b| <= atol + rtol·|b|, or -1. */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol = 1e-5, rtol = 1e-5 }: Tolerance = {}) {
  let maxAbs = 0;
  let firstBad = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const diff = Math.abs(a - e);
    const bothNaN = Number.isNaN(a) && Number.isNaN(e);
    const bad = !bothNaN && !(diff <= atol + rtol * Math.abs(e)) && !(a === e);
    if (!bothNaN && diff > maxAbs) maxAbs = diff;
    if (bad && firstBad < 0) firstBad = i;
  }
  return { maxAbs, firstBad };
}

/** Assert two tensors (or arrays) have the same shape and values within tolerance. */
export function expectTensorsClose(
  actual: tf.Tensor | ArrayLike<number> | number,
  expected: tf.Tensor | ArrayLike<number> | number,
  tolerance: Tolerance = {},
): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor && actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`Shapes differ: actual [${actual.shape}] vs expected [${expected.shape}]`);
  }
  const a = toArray(actual);
  const e = toArray(expected);
  if (a.length !== e.length) throw new Error(`Sizes differ: actual ${a.length} vs expected ${e.length}`);
  const { maxAbs, firstBad } = compare(a, e, tolerance);
  if (firstBad >= 0) {
    throw new Error(
      `Tensors differ at flat index ${firstBad}: actual ${a[firstBad]} vs expected ${e[firstBad]} ` +
        `(max |diff| ${maxAbs.toExponential(3)}, atol ${tolerance.atol ?? 1e-5}, rtol ${tolerance.rtol ?? 1e-5})`,
    );
  }
}
