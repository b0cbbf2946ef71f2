/**
 * Parameter initialisers. Each is a function of (shape, rng) that returns the values, drawn
 * in JavaScript from a seeded `Rng`, so the same seed initialises a model identically on
 * every backend.
 *
 * Layout convention: a linear weight is stored `[in, out]` (x @ W), the transpose of
 * PyTorch's `nn.Linear.weight`. `fanIn` is therefore `shape[0]` for 2-D weights.
 */
import { Rng, sizeOf } from './rng.js';

export type Initializer = (shape: number[], rng: Rng) => Float32Array;

function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = sizeOf(shape.slice(0, -2));
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

export const init = {
  zeros: (): Initializer => (shape) => new Float32Array(sizeOf(shape)),
  ones: (): Initializer => (shape) => new Float32Array(sizeOf(shape)).fill(1),
  constant: (value: number): Initializer => (shape) => new Float32Array(sizeOf(shape)).fill(value),
  normal: (std: number, mean = 0): Initializer => (shape, rng) => rng.normalArray(sizeOf(shape), mean, std),
  uniform: (low: number, high: number): Initializer => (shape, rng) => rng.uniformArray(sizeOf(shape), low, high),
  /** Normal truncated to ±2 std by redrawing (timm / x-transformers `trunc_normal_`). */
  truncatedNormal: (std: number): Initializer => (shape, rng) => {
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) {
      let v = rng.normal();
      while (Math.abs(v) > 2) v = rng.normal();
      out[i] = v * std;
    }
    return out;
  },
  /** Glorot/Xavier uniform: U(±gain·sqrt(6 / (fanIn + fanOut))). */
  xavierUniform: (gain = 1): Initializer => (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    const a = gain * Math.sqrt(6 / (fanIn + fanOut));
    return rng.uniformArray(sizeOf(shape), -a, a);
  },
  /** PyTorch's nn.Linear default (kaiming_uniform with a = sqrt(5)): U(±1/sqrt(fanIn)). */
  torchLinear: (fanIn?: number): Initializer => (shape, rng) => {
    const bound = 1 / Math.sqrt(fanIn ?? fans(shape).fanIn);
    return rng.uniformArray(sizeOf(shape), -bound, bound);
  },
  /** Exact values (e.g. loaded weights, identity matrices). */
  values: (values: ArrayLike<number>): Initializer => (shape) => {
    if (values.length !== sizeOf(shape)) {
      throw new RangeError(`init.values: ${values.length} values for shape [${shape}] (needs ${sizeOf(shape)})`);
    }
    return Float32Array.from(values);
  },
};
