/**
 * Errors the CLI raises itself, and how any error is shown to the user: one sentence, no
 * stack trace unless --verbose.
 */
import { WeftError } from '@weft/core';

const USAGE_MARKER = Symbol.for('weft.cli.usage-error');

/** A bad command line: unknown command or flag, missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  readonly [USAGE_MARKER] = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
  static isInstance(value: unknown): value is UsageError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[USAGE_MARKER] === true;
  }
}

/** Exit status for an error: 2 for usage errors, 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  return UsageError.isInstance(error) ? 2 : 1;
}

/** The text shown for an error. Weft and usage errors are already sentences; others get their type. */
export function formatError(error: unknown, verbose: boolean): string {
  if (verbose && error instanceof Error && error.stack) {
    const cause = error.cause instanceof Error && error.cause.stack ? `\nCaused by: ${error.cause.stack}` : '';
    return `${error.stack}${cause}`;
  }
  if (UsageError.isInstance(error) || WeftError.isInstance(error)) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message} (run again with --verbose for the stack trace)`;
  return String(error);
}
