/**
 * Validating an options object with its zod schema, turning the first problem into a
 * ConfigError that names the field, the value received and what is allowed.
 */
import { ConfigError, describeValue, didYouMean, formatPath, z } from '@weft/core';

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The keys a zod object schema accepts, for "did you mean" hints. */
function knownKeys(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * Parses `options` (undefined means `{}`) and returns the typed result with defaults filled in.
 * `owner` prefixes the error path, e.g. `copy` gives `copy.length: ...`.
 */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, owner: string): z.output<S> {
  const input = options ?? {};
  const result = schema.safeParse(input);
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const path = formatPath(issue.path as PropertyKey[], owner);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const keys = knownKeys(schema);
    throw new ConfigError(
      formatPath([key], path),
      `unknown option "${key}" (the options are: ${keys.join(', ')}).${didYouMean(key, keys)}`,
    );
  }
  throw new ConfigError(path, `${issue.message}; got ${describeValue(valueAt(input, issue.path as PropertyKey[]))}.`);
}
