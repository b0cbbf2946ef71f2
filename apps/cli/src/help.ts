/** Usage text for `weft --help` and `weft <command> --help`. */
import { COMMON_OPTIONS, type CommandSpec } from './args.js';

function optionLabel(o: CommandSpec['options'][number]): string {
  if (o.type === 'boolean') return `--${o.name}`;
  if (o.type === 'optional-string') return `--${o.name} [${o.value ?? 'VALUE'}]`;
  return `--${o.name} ${o.value ?? (o.type === 'int' || o.type === 'number' ? 'N' : 'VALUE')}`;
}

function table(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

export function commandHelp(spec: CommandSpec): string {
  const args = spec.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  const lines = [`Usage: weft ${spec.name}${args ? ` ${args}` : ''} [options]`, '', spec.summary];
  if (spec.positionals.length) lines.push('', 'Arguments:', ...table(spec.positionals.map((p) => [p.name, p.description])));
  const options = [...spec.options, ...COMMON_OPTIONS];
  lines.push('', 'Options:', ...table(options.map((o) => [optionLabel(o), o.description + (o.choices ? ` (${o.choices.join(', ')})` : '')])));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function mainHelp(commands: CommandSpec[]): string {
  return [
    'Usage: weft <command> [options]',
    '',
    'Build, train and sample sequence models made of Weft plugins.',
    '',
    'Commands:',
    ...table(commands.map((c) => [c.name, c.summary])),
    '',
    'Run "weft <command> --help" for the options of a command.',
  ].join('\n');
}
