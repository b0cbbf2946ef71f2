/** Turning validation failures into one sentence: path, value, what is allowed, the fix. */
import type { z } from 'zod';

/** `['layers', 2, 'mixer']` -> `layers[2].mixer`. */
export function formatPath(path: ReadonlyArray<PropertyKey>, base = ''): string {
  let out = base;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function joinPath(base: string, key: string | number): string {
  return formatPath([key], base);
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    json = String(value);
  }
  if (json === undefined) json = String(value);
  if (json.length > 60) json = json.slice(0, 57) + '...';
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${json} (${type})`;
}

function lookup(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** One line per zod issue: `path: message (got value)`. */
export function formatZodIssues(error: z.ZodError, input: unknown, base: string): string[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path as PropertyKey[], base);
    const value = 'input' in issue ? (issue as { input?: unknown }).input : lookup(input, issue.path as PropertyKey[]);
    return `${path || '(root)'}: ${issue.message}; got ${describeValue(value)}`;
  });
}
