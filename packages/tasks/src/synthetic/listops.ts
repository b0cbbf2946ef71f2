/**
 * ListOps as a causal language-modelling task: a random expression (see listops-expression.ts),
 * the mark '=', then its value. The answer is the one digit after '='. Long Range Arena uses
 * maxDepth 10, maxArgs 10 and expressions of 500 to 2000 tokens.
 *
 *   [MAX 2 9 [MIN 4 7 ] 0 ] = 9 <pad> ...          (answer = 9)
 *
 * Expressions are drawn until one has between minLength and seqLen - 1 tokens (room for '='
 * and the answer); rows are padded after the answer to seqLen + 1 tokens.
 * Tokens: see ListOpsTokenizer.
 */
import { ConfigError, z, type Rng } from '@weft/core';
import { parseOptions } from '../parse-options.js';
import { evaluateListOps, generateListOps, listOpsTokens, maxListOpsTokens } from './listops-expression.js';
import { LISTOPS_ANSWER_MARK, ListOpsTokenizer } from './listops-tokenizer.js';
import { SequenceTask, type TaskRow } from './sequence-task.js';

export const listOpsOptionsSchema = z.strictObject({
  /** L, the length of inputs and targets. An expression has at most L - 1 tokens. */
  seqLen: z.number().int().min(5).default(128),
  /** The most operators nested inside one another. */
  maxDepth: z.number().int().min(1).default(4),
  /** The most arguments of one operator. */
  maxArgs: z.number().int().min(2).default(5),
  /** The fewest tokens an expression may have. */
  minLength: z.number().int().min(0).default(0),
});
export type ListOpsOptions = z.input<typeof listOpsOptionsSchema>;

/** How many expressions `generateRow` draws before concluding the length window is too narrow. */
const MAX_ATTEMPTS = 1000;

export class ListOpsTask extends SequenceTask<z.output<typeof listOpsOptionsSchema>> {
  readonly name = 'listops';
  readonly tokenizer = new ListOpsTokenizer();
  readonly vocabSize = this.tokenizer.vocabSize;
  readonly seqLen: number;

  constructor(options: ListOpsOptions = {}) {
    super(parseOptions(listOpsOptionsSchema, options, 'listops'));
    const { seqLen, maxDepth, maxArgs, minLength } = this.options;
    const longest = Math.min(seqLen - 1, maxListOpsTokens(maxDepth, maxArgs));
    if (minLength > longest) {
      throw new ConfigError(
        'listops.minLength',
        `${minLength} is more than the ${longest} tokens an expression can have with seqLen = ${seqLen}, maxDepth = ${maxDepth}, maxArgs = ${maxArgs}; lower minLength or raise the others.`,
      );
    }
    this.seqLen = seqLen;
  }

  protected generateRow(rng: Rng): TaskRow {
    const { seqLen, maxDepth, maxArgs, minLength } = this.options;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const expression = generateListOps(rng, { maxDepth, maxArgs, maxTokens: seqLen - 1 });
      if (expression === undefined) continue;
      const expressionTokens = listOpsTokens(expression);
      if (expressionTokens.length < minLength) continue;
      const tokens = [...expressionTokens, LISTOPS_ANSWER_MARK, String(evaluateListOps(expression))].map((t) => this.tokenizer.idOf(t));
      return { tokens, answerPositions: [tokens.length - 1] };
    }
    throw new ConfigError(
      'listops',
      `no expression of ${minLength} to ${seqLen - 1} tokens came up in ${MAX_ATTEMPTS} draws with maxDepth = ${maxDepth}, maxArgs = ${maxArgs}; widen the window (lower minLength, raise seqLen) or adjust maxDepth/maxArgs.`,
    );
  }
}
