/**
 * A token stream seen as next-token-prediction windows.
 *
 * A window is seqLen + 1 consecutive tokens; inputs = window[0 .. L-1], targets = window[1 .. L]
 * (each target is the token after its input). The contiguous windows start at 0, L, 2L, ...:
 * consecutive windows share one boundary token, so every token after the first is a target
 * exactly once.
 */
import { ConfigError, tf, type Batch } from '@weft/core';

export interface TextWindow {
  /** [seqLen] view of the tokens. */
  inputs: Int32Array;
  /** [seqLen] view of the tokens, shifted by one. */
  targets: Int32Array;
}

export class TextDataset {
  readonly tokens: Int32Array;
  readonly seqLen: number;

  constructor(tokens: Int32Array, seqLen: number) {
    if (!Number.isInteger(seqLen) || seqLen < 1) {
      throw new ConfigError('seqLen', `must be a positive integer; got ${seqLen}.`);
    }
    if (tokens.length < seqLen + 1) {
      throw new ConfigError(
        'seqLen',
        `a window needs seqLen + 1 = ${seqLen + 1} tokens but the text has only ${tokens.length}; use a shorter seqLen or more text.`,
      );
    }
    this.tokens = tokens;
    this.seqLen = seqLen;
  }

  /** How many contiguous windows fit: floor((N - 1) / seqLen). */
  get windowCount(): number {
    return Math.floor((this.tokens.length - 1) / this.seqLen);
  }

  /** The largest start a window can have: N - seqLen - 1. */
  get lastStart(): number {
    return this.tokens.length - this.seqLen - 1;
  }

  /** The `index`-th contiguous window (it starts at index * seqLen). */
  window(index: number): TextWindow {
    if (!Number.isInteger(index) || index < 0 || index >= this.windowCount) {
      throw new RangeError(`window index ${index} is outside [0, ${this.windowCount}).`);
    }
    return this.windowAt(index * this.seqLen);
  }

  /** The window whose first input is tokens[start]. */
  windowAt(start: number): TextWindow {
    if (!Number.isInteger(start) || start < 0 || start > this.lastStart) {
      throw new RangeError(`window start ${start} is outside [0, ${this.lastStart}].`);
    }
    return {
      inputs: this.tokens.subarray(start, start + this.seqLen),
      targets: this.tokens.subarray(start + 1, start + this.seqLen + 1),
    };
  }

  /** A Batch of the windows starting at `starts`: inputs and targets [starts.length, seqLen] int32. */
  batchAt(starts: readonly number[]): Batch {
    const L = this.seqLen;
    const inputs = new Int32Array(starts.length * L);
    const targets = new Int32Array(starts.length * L);
    starts.forEach((start, row) => {
      const window = this.windowAt(start);
      inputs.set(window.inputs, row * L);
      targets.set(window.targets, row * L);
    });
    return {
      inputs: tf.tensor2d(inputs, [starts.length, L], 'int32'),
      targets: tf.tensor2d(targets, [starts.length, L], 'int32'),
    };
  }
}
