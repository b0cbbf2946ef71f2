/**
 * Multi-query associative recall (MQAR; Arora et al., "Zoology", 2023, arXiv:2312.04927):
 * a list of key-value pairs, then several of the keys again; after each queried key the model
 * writes the value it was paired with. It measures how many associations a model can store
 * and look up, the gap between attention and fixed-size-state mixers.
 *
 *   k1 v1 k2 v2 ... kn vn   q1 a1 q2 a2 ... qm am     (answers = a1 ... am, aj = value of qj)
 *
 * The n keys of a row are distinct; the m queried keys are distinct keys of the row, in random
 * order. Values are drawn independently (they may repeat). Unlike Zoology's generator, the
 * queries follow the pairs directly instead of being spread over a longer sequence.
 *
 * Tokens: 0 pad, 1 .. keys the keys, keys + 1 .. keys + values the values.
 * seqLen = 2n + 2m - 1.
 */
import { ConfigError, z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const associativeRecallOptionsSchema = z.strictObject({
  /** n, the number of key-value pairs per row. */
  pairs: z.number().int().min(1).default(8),
  /** m, how many of the keys are queried (m <= n). */
  queries: z.number().int().min(1).default(4),
  /** Size of the key vocabulary (>= pairs, since a row's keys are distinct). */
  keys: z.number().int().min(1).default(32),
  /** Size of the value vocabulary. */
  values: z.number().int().min(1).default(32),
});
export type AssociativeRecallOptions = z.input<typeof associativeRecallOptionsSchema>;

const FIRST_KEY = 1;

export class AssociativeRecallTask extends SequenceTask<z.output<typeof associativeRecallOptionsSchema>> {
  readonly name = 'associative-recall';
  readonly vocabSize: number;
  readonly seqLen: number;

  constructor(options: AssociativeRecallOptions = {}) {
    super(parseOptions(associativeRecallOptionsSchema, options, 'associative-recall'));
    const { pairs, queries, keys, values } = this.options;
    if (keys < pairs) {
      throw new ConfigError('associative-recall.keys', `${keys} keys cannot give ${pairs} distinct keys per row; make keys >= pairs.`);
    }
    if (queries > pairs) {
      throw new ConfigError('associative-recall.queries', `${queries} distinct queries need at least as many pairs, but pairs = ${pairs}; make queries <= pairs.`);
    }
    this.vocabSize = FIRST_KEY + keys + values;
    this.seqLen = 2 * pairs + 2 * queries - 1;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { pairs, queries, keys, values } = this.options;
    const firstValue = FIRST_KEY + keys;
    const rowKeys = rng.shuffle(Array.from({ length: keys }, (_, i) => FIRST_KEY + i)).slice(0, pairs);
    const rowValues = rowKeys.map(() => firstValue + rng.int(values));
    const queried = rng.shuffle(Array.from({ length: pairs }, (_, i) => i)).slice(0, queries);

    const tokens: number[] = [];
    rowKeys.forEach((key, i) => tokens.push(key, rowValues[i]));
    const answerPositions: number[] = [];
    for (const pair of queried) {
      tokens.push(rowKeys[pair], rowValues[pair]);
      answerPositions.push(tokens.length - 1);
    }
    return { tokens, answerPositions };
  }
}
