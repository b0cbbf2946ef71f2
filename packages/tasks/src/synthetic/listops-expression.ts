/**
 * ListOps expressions (Nangia & Bowman, 2018, arXiv:1804.06028; the generator of Long Range
 * Arena, Tay et al., 2020, arXiv:2011.04006): nested lists of digits under four operators,
 *
 *   [MAX 2 9 [MIN 4 7 ] 0 ]   = max(2, 9, min(4, 7), 0) = 9
 *
 *   MAX  largest argument          MIN  smallest argument
 *   MED  median; for an even count, the mean of the two middle values rounded down
 *        (integer truncation of the median, as LRA computes it)
 *   SM   sum modulo 10
 *
 * Every value, and so every answer, is a digit 0-9.
 */
import { ConfigError, type Rng } from '@weft/core';

export const LISTOPS_OPERATORS = ['MAX', 'MIN', 'MED', 'SM'] as const;
export type ListOpsOperator = (typeof LISTOPS_OPERATORS)[number];

/** A digit, or an operator applied to two or more sub-expressions. */
export type ListOpsExpression = number | { operator: ListOpsOperator; args: ListOpsExpression[] };

/** The closing-bracket token; an operator token is '[' + its name. */
export const LISTOPS_CLOSE = ']';

/** The probability LRA's generator gives an argument of being an operator rather than a digit. */
const OPERATOR_PROBABILITY = 0.25;

function apply(operator: ListOpsOperator, values: number[]): number {
  switch (operator) {
    case 'MAX':
      return Math.max(...values);
    case 'MIN':
      return Math.min(...values);
    case 'MED': {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[middle] : Math.floor((sorted[middle - 1] + sorted[middle]) / 2);
    }
    case 'SM':
      return values.reduce((sum, v) => sum + v, 0) % 10;
  }
}

/** The value of an expression, a digit 0-9. */
export function evaluateListOps(expression: ListOpsExpression): number {
  if (typeof expression === 'number') return expression;
  return apply(expression.operator, expression.args.map(evaluateListOps));
}

/** The expression as tokens: '[MAX', '2', '9', ']'. */
export function listOpsTokens(expression: ListOpsExpression): string[] {
  if (typeof expression === 'number') return [String(expression)];
  return [`[${expression.operator}`, ...expression.args.flatMap(listOpsTokens), LISTOPS_CLOSE];
}

/** The expression as text, tokens separated by spaces: '[MAX 2 9 ]'. */
export function formatListOps(expression: ListOpsExpression): string {
  return listOpsTokens(expression).join(' ');
}

/** Reads an expression written as space-separated tokens, e.g. '[SM 3 8 [MED 1 5 2 ] ]'. */
export function parseListOps(text: string): ListOpsExpression {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  let position = 0;
  const fail = (what: string): never => {
    throw new ConfigError('expression', `${what} at token ${position} of "${text}"; write e.g. "[MAX 2 9 [MIN 4 7 ] 0 ]".`);
  };
  const readExpression = (): ListOpsExpression => {
    const token = tokens[position++];
    if (token === undefined) return fail('the expression ends early');
    if (/^\d$/.test(token)) return Number(token);
    const operator = LISTOPS_OPERATORS.find((op) => token === `[${op}`);
    if (!operator) return fail(`"${token}" is neither a digit nor one of [MAX [MIN [MED [SM`);
    const args: ListOpsExpression[] = [];
    while (tokens[position] !== LISTOPS_CLOSE) args.push(readExpression());
    position++; // the ']'
    if (args.length < 2) fail(`[${operator} needs at least two arguments`);
    return { operator, args };
  };
  const expression = readExpression();
  if (position !== tokens.length) fail(`unexpected "${tokens[position]}" after the end of the expression`);
  return expression;
}

export interface ListOpsLimits {
  /** The most operators nested inside one another (the outermost is depth 1). */
  maxDepth: number;
  /** The most arguments one operator takes (at least 2). */
  maxArgs: number;
  /** Give up (return undefined) once the expression would exceed this many tokens. */
  maxTokens: number;
}

/**
 * A random expression in the manner of LRA's generator: the outermost node is an operator;
 * below it each argument is, while the depth allows, an operator with probability 1/4 (with
 * a uniform number of arguments in [2, maxArgs] and a uniform operator), otherwise a uniform
 * digit. Returns undefined when the expression grows past `maxTokens`.
 */
export function generateListOps(rng: Rng, limits: ListOpsLimits): ListOpsExpression | undefined {
  let tokenCount = 0;
  const generate = (depth: number): ListOpsExpression | undefined => {
    const isOperator = depth === 1 || (depth <= limits.maxDepth && rng.uniform() < OPERATOR_PROBABILITY);
    tokenCount += isOperator ? 2 : 1;
    if (tokenCount > limits.maxTokens) return undefined;
    if (!isOperator) return rng.int(10);
    const argCount = 2 + rng.int(limits.maxArgs - 1);
    const args: ListOpsExpression[] = [];
    for (let i = 0; i < argCount; i++) {
      const arg = generate(depth + 1);
      if (arg === undefined) return undefined;
      args.push(arg);
    }
    return { operator: LISTOPS_OPERATORS[rng.int(LISTOPS_OPERATORS.length)], args };
  };
  return generate(1);
}

/** The most tokens an expression within `maxDepth` and `maxArgs` can have. */
export function maxListOpsTokens(maxDepth: number, maxArgs: number): number {
  let tokens = 1; // below the deepest operator, only digits
  for (let depth = maxDepth; depth >= 1; depth--) tokens = 2 + maxArgs * tokens;
  return tokens;
}
