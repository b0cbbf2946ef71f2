/**
 * Seeded, splittable, counter-based random numbers.
 *
 * Every draw is a pure function of (seed, stream, counter), so a generator's position can be
 * saved in a checkpoint and restored exactly, and `fork(label)` derives an independent child
 * stream without advancing the parent. Tensors are filled in JavaScript and then uploaded,
 * so the same seed gives bit-identical values on every backend.
 */
import { tf } from './tfjs.js';

/** A 32-bit avalanche mix (the finaliser of MurmurHash3). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hashLabel(label: string | number): number {
  if (typeof label === 'number') return mix32(label >>> 0 ^ 0x27d4eb2f);
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** What a checkpoint stores to restore a generator exactly. */
export interface RngState {
  seed: number;
  stream: number;
  counter: number;
}

export class Rng {
  readonly seed: number;
  private readonly stream: number;
  private counter: number;

  constructor(seed: number, stream = 0, counter = 0) {
    if (!Number.isFinite(seed)) throw new TypeError(`Rng seed must be a finite number, got ${seed}`);
    this.seed = seed >>> 0;
    this.stream = stream >>> 0;
    this.counter = counter;
  }

  static fromState(state: RngState): Rng {
    return new Rng(state.seed, state.stream, state.counter);
  }

  state(): RngState {
    return { seed: this.seed, stream: this.stream, counter: this.counter };
  }

  /** An independent generator for a named purpose; the parent is not advanced. */
  fork(label: string | number): Rng {
    return new Rng(mix32(this.seed ^ hashLabel(label)), mix32(this.stream + hashLabel(label)), 0);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const c = this.counter++;
    return mix32(mix32(this.seed ^ Math.imul(c, 0x9e3779b9)) ^ mix32(this.stream + c));
  }

  /** A fresh 32-bit seed, for tfjs ops that take one (dropout, randomUniform). */
  nextSeed(): number {
    return this.nextUint32();
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    // One value per pair of uniforms (the sine half is discarded), so the generator's whole
    // position is its counter and `state()` restores it exactly.
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new RangeError(`Rng.int needs a positive integer bound, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  uniformTensor(shape: number[], low = 0, high = 1): tf.Tensor {
    return tf.tensor(this.uniformArray(sizeOf(shape), low, high), shape, 'float32');
  }

  normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    return tf.tensor(this.normalArray(sizeOf(shape), mean, std), shape, 'float32');
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
