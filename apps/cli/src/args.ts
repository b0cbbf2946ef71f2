/**
 * Command-line parsing: `--name value`, `--name=value`, boolean flags, `--` ends options.
 * Every mistake is a UsageError naming the flag, the value and what is expected, with a
 * "did you mean" for misspelled flags.
 */
import { didYouMean } from '@weft/core';
import { UsageError } from './errors.js';

export type OptionType = 'int' | 'number' | 'string' | 'boolean' | 'list' | 'optional-string';

export interface OptionSpec {
  /** The flag without dashes, kebab-case: `eval-every`. Parsed into camelCase: `evalEvery`. */
  name: string;
  type: OptionType;
  description: string;
  /** Placeholder shown in help: `--steps N`. */
  value?: string;
  /** Smallest allowed value (int, number). */
  min?: number;
  /** The value must be strictly greater than `min`. */
  exclusiveMin?: boolean;
  max?: number;
  choices?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  positionals: PositionalSpec[];
  options: OptionSpec[];
  /** Example invocations for --help. */
  examples?: string[];
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, unknown>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'help', type: 'boolean', description: 'Show this help.' },
  { name: 'verbose', type: 'boolean', description: 'Show stack traces on errors.' },
];

export function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function describeBound(spec: OptionSpec): string {
  const parts: string[] = [];
  if (spec.min !== undefined) parts.push(`${spec.exclusiveMin ? '>' : '>='} ${spec.min}`);
  if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function convert(spec: OptionSpec, raw: string): unknown {
  const flag = `--${spec.name}`;
  switch (spec.type) {
    case 'int':
    case 'number': {
      const value = raw.trim() === '' ? NaN : Number(raw);
      const whole = spec.type === 'int';
      const bad =
        !Number.isFinite(value) ||
        (whole && !Number.isInteger(value)) ||
        (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min)) ||
        (spec.max !== undefined && value > spec.max);
      if (bad) throw new UsageError(`${flag} must be ${whole ? 'a whole number' : 'a number'}${describeBound(spec)}; got "${raw}".`);
      return value;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (!items.length) throw new UsageError(`${flag} needs a comma-separated list, e.g. ${flag} ${spec.value ?? 'a,b'}; got "${raw}".`);
      return items;
    }
    default:
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`${flag} must be one of ${spec.choices.join(', ')}; got "${raw}".${didYouMean(raw, spec.choices)}`);
      }
      return raw;
  }
}

/** A token that can be the value of a numeric flag: `-3` is a (bad) value, not a flag. */
const looksNumeric = (token: string) => /^-?(\d|\.\d)/.test(token);

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const all = [...spec.options, ...COMMON_OPTIONS];
  const byName = new Map(all.map((o) => [o.name, o]));
  const positionals: string[] = [];
  const options: Record<string, unknown> = {};
  const command = `weft ${spec.name}`;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === '-h') {
      options.help = true;
      continue;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(token.startsWith('--') ? 2 : 1, eq >= 0 ? eq : undefined);
    const inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    const option = byName.get(name);
    if (!option) {
      throw new UsageError(
        `Unknown option ${token.slice(0, eq >= 0 ? eq : undefined)} for ${command}.${didYouMean(name, [...byName.keys()]).replace(/"([^"]+)"/, '--$1')} Run "${command} --help" to see the options.`,
      );
    }
    const key = camelCase(option.name);
    if (option.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${option.name} is a switch and takes no value; got "${token}".`);
      options[key] = true;
      continue;
    }
    if (inline !== undefined) {
      options[key] = convert(option, inline);
      continue;
    }
    const next = argv[i + 1];
    if (option.type === 'optional-string') {
      // `--resume` alone, or `--resume DIR`; a .json argument stays the config positional.
      if (next !== undefined && !next.startsWith('-') && !next.endsWith('.json')) {
        options[key] = next;
        i++;
      } else {
        options[key] = true;
      }
      continue;
    }
    const numeric = option.type === 'int' || option.type === 'number';
    if (next === undefined || (next.startsWith('-') && !(numeric && looksNumeric(next)))) {
      throw new UsageError(`--${option.name} needs a value, e.g. --${option.name} ${option.value ?? 'VALUE'}.`);
    }
    options[key] = convert(option, next);
    i++;
  }
  if (!options.help) {
    const required = spec.positionals.filter((p) => p.required);
    if (positionals.length < required.length) {
      const missing = required[positionals.length];
      throw new UsageError(`${command} needs the <${missing.name}> argument: ${missing.description} Run "${command} --help" for usage.`);
    }
    if (positionals.length > spec.positionals.length) {
      const extra = positionals[spec.positionals.length];
      const takes = spec.positionals.length ? `at most ${spec.positionals.length} argument(s) (${spec.positionals.map((p) => p.name).join(', ')})` : 'no arguments';
      throw new UsageError(`${command} takes ${takes}; got an extra "${extra}". Flags start with --.`);
    }
  }
  return { positionals, options };
}
