/**
 * Finite-difference gradient check: compares tfjs's (possibly custom) gradient of a scalar
 * function with central differences (f(x+h) - f(x-h)) / 2h, element by element. float32
 * limits the achievable agreement, so pick h around 1e-2..1e-3 and tolerances around 1e-2.
 */
import { tf } from '../tfjs.js';
import { compare } from './close.js';

export interface GradCheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input (chosen evenly); default all. */
  maxElements?: number;
}

export interface GradCheckResult {
  maxAbsError: number;
  analytic: Float64Array[];
  numeric: Float64Array[];
}

export function gradCheck(f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], options: GradCheckOptions = {}): GradCheckResult {
  const { eps = 1e-2, atol = 1e-2, rtol = 1e-2, maxElements } = options;
  const analyticT = tf.grads(f)(inputs);
  const analytic = analyticT.map((g) => Float64Array.from(g.dataSync()));
  tf.dispose(analyticT);
  const numeric: Float64Array[] = [];
  let maxAbsError = 0;
  inputs.forEach((x, which) => {
    const base = Float32Array.from(x.dataSync());
    const n = base.length;
    const stride = maxElements && n > maxElements ? Math.ceil(n / maxElements) : 1;
    const num = new Float64Array(n).fill(NaN);
    const evalAt = (values: Float32Array): number =>
      tf.tidy(() => {
        const args = inputs.map((t, i) => (i === which ? tf.tensor(values, x.shape, 'float32') : t));
        return f(...args).dataSync()[0];
      });
    for (let i = 0; i < n; i += stride) {
      const plus = base.slice();
      plus[i] += eps;
      const minus = base.slice();
      minus[i] -= eps;
      num[i] = (evalAt(plus) - evalAt(minus)) / (2 * eps);
    }
    const checkedA: number[] = [];
    const checkedN: number[] = [];
    for (let i = 0; i < n; i += stride) {
      checkedA.push(analytic[which][i]);
      checkedN.push(num[i]);
    }
    const { maxAbs, firstBad } = compare(checkedA, checkedN, { atol, rtol });
    maxAbsError = Math.max(maxAbsError, maxAbs);
    if (firstBad >= 0) {
      throw new Error(
        `gradCheck: input ${which}, element ${firstBad * stride}: analytic ${checkedA[firstBad]} vs finite difference ${checkedN[firstBad]} ` +
          `(eps ${eps}, atol ${atol}, rtol ${rtol})`,
      );
    }
    numeric.push(num);
  });
  return { maxAbsError, analytic, numeric };
}
