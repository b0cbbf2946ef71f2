/** Shape checks that raise a ShapeError naming the argument, the shape and the expectation. */
import type { Tensor } from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';

export function assertRank(name: string, t: Tensor, rank: number, layout: string): void {
  if (t.rank !== rank) throw new ShapeError(`${name} must be rank ${rank} ${layout}; got shape [${t.shape}]`);
}

/** `expected` entries: a number must match exactly; null matches anything. */
export function assertShape(name: string, t: Tensor, expected: Array<number | null>, layout: string): void {
  assertRank(name, t, expected.length, layout);
  expected.forEach((d, i) => {
    if (d !== null && t.shape[i] !== d) throw new ShapeError(`${name} must have shape ${layout} = [${expected.map((e) => e ?? '*')}]; got [${t.shape}]`);
  });
}
