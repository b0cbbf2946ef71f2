/**
 * A resumable stream of next-token-prediction batches drawn from one token array.
 *
 * shuffle: true  (default) - each row starts at a uniformly random offset in [0, N - L - 1],
 *                            drawn from a seeded core `Rng`; windows may overlap.
 * shuffle: false           - the contiguous windows (see TextDataset) in order, wrapping to the
 *                            start after the last one; the seed is unused.
 *
 * `state()` is plain JSON; after `restore(state)` the source yields exactly the batches it
 * would have yielded after the moment `state()` was taken.
 */
import { CheckpointError, Rng, describeValue, z, type Batch, type DataSource } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { TextDataset } from './text-dataset.js';

export const languageModelingOptionsSchema = z.strictObject({
  batchSize: z.number().int().positive(),
  seqLen: z.number().int().positive(),
  seed: z.number().int().default(0),
  shuffle: z.boolean().default(true),
});
export type LanguageModelingOptions = z.input<typeof languageModelingOptionsSchema>;

const stateSchema = z.strictObject({
  kind: z.literal('language-modeling'),
  /** Checked on restore so a state is not applied to a different dataset or shape. */
  tokenCount: z.number().int(),
  batchSize: z.number().int(),
  seqLen: z.number().int(),
  shuffle: z.boolean(),
  rng: z.strictObject({ seed: z.number(), stream: z.number(), counter: z.number() }),
  /** Index of the next contiguous window (used when shuffle is false). */
  nextWindow: z.number().int().nonnegative(),
});
export type LanguageModelingState = z.infer<typeof stateSchema>;

export class LanguageModelingSource implements DataSource {
  readonly dataset: TextDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  private rng: Rng;
  private nextWindow = 0;

  constructor(tokens: Int32Array, options: LanguageModelingOptions) {
    const { batchSize, seqLen, seed, shuffle } = parseOptions(languageModelingOptionsSchema, options, 'LanguageModelingSource');
    this.dataset = new TextDataset(tokens, seqLen);
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.rng = new Rng(seed);
  }

  /** inputs and targets [batchSize, seqLen] int32; the caller disposes them. */
  next(): Batch {
    return this.dataset.batchAt(this.shuffle ? this.randomStarts() : this.sequentialStarts());
  }

  private randomStarts(): number[] {
    return Array.from({ length: this.batchSize }, () => this.rng.int(this.dataset.lastStart + 1));
  }

  private sequentialStarts(): number[] {
    const { windowCount, seqLen } = this.dataset;
    return Array.from({ length: this.batchSize }, () => {
      const start = this.nextWindow * seqLen;
      this.nextWindow = (this.nextWindow + 1) % windowCount;
      return start;
    });
  }

  state(): LanguageModelingState {
    return {
      kind: 'language-modeling',
      tokenCount: this.dataset.tokens.length,
      batchSize: this.batchSize,
      seqLen: this.dataset.seqLen,
      shuffle: this.shuffle,
      rng: this.rng.state(),
      nextWindow: this.nextWindow,
    };
  }

  restore(state: unknown): void {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) {
      throw new CheckpointError(
        `LanguageModelingSource.restore: not a state saved by LanguageModelingSource.state() (${parsed.error.issues[0].message} at "${parsed.error.issues[0].path.join('.')}"); got ${describeValue(state)}.`,
      );
    }
    const saved = parsed.data;
    const current = this.state();
    for (const field of ['tokenCount', 'batchSize', 'seqLen', 'shuffle'] as const) {
      if (saved[field] !== current[field]) {
        throw new CheckpointError(
          `LanguageModelingSource.restore: the state was saved with ${field} = ${saved[field]} but this source has ${field} = ${current[field]}; build the source with the same tokens and options before restoring.`,
        );
      }
    }
    if (saved.nextWindow >= this.dataset.windowCount) {
      throw new CheckpointError(`LanguageModelingSource.restore: nextWindow ${saved.nextWindow} is outside [0, ${this.dataset.windowCount}).`);
    }
    this.rng = Rng.fromState(saved.rng);
    this.nextWindow = saved.nextWindow;
  }
}
