/** Splitting a token stream into training and validation parts. */
import { ConfigError } from '@weft/core';

export interface TrainValidationSplit {
  train: Int32Array;
  validation: Int32Array;
}

/**
 * A contiguous, deterministic split: the last `validationFraction` of the tokens (rounded
 * down, at least one token) is validation, everything before it is training. Both parts are
 * views of `tokens`, not copies. Contiguous (rather than random) so no validation text leaks
 * into training windows.
 */
export function splitTrainValidation(tokens: Int32Array, validationFraction: number): TrainValidationSplit {
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new ConfigError(
      'validationFraction',
      `must be strictly between 0 and 1; got ${validationFraction}. Use e.g. 0.1 to keep the last 10% for validation.`,
    );
  }
  const validationLength = Math.max(1, Math.floor(tokens.length * validationFraction));
  const trainLength = tokens.length - validationLength;
  if (trainLength < 1) {
    throw new ConfigError(
      'tokens',
      `${tokens.length} token(s) cannot be split into non-empty training and validation parts; provide more text.`,
    );
  }
  return { train: tokens.subarray(0, trainLength), validation: tokens.subarray(trainLength) };
}
