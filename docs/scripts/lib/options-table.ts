/**
 * The options table of a provider, from its zod schema (`z.toJSONSchema`) with descriptions
 * from the schema, or else from the README's Options table.
 */

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
}

export interface OptionRow {
  name: string;
  type: string;
  default: string;
  description: string;
}

const SAFE_INT = Number.MAX_SAFE_INTEGER;

function bounds(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined && s.minimum > -SAFE_INT) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  if (s.maximum !== undefined && s.maximum < SAFE_INT) parts.push(`≤ ${s.maximum}`);
  return parts.join(', ');
}

/** A short, readable type for one JSON schema node. */
export function describeType(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    // slotRef(): a kind string or { kind, ...options }
    const isSlotRef =
      alternatives.length === 2 &&
      alternatives.some((a) => a.type === 'string' && !a.enum) &&
      alternatives.some((a) => a.type === 'object' && a.required?.includes('kind'));
    if (isSlotRef) return 'slot config';
    return [...new Set(alternatives.map(describeType))].join(' \\| ');
  }
  if (s.type === 'array') return `${s.items ? describeType(s.items) : 'unknown'}[]`;
  if (s.type === 'object') return 'object';
  const type = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const range = bounds(s);
  return range ? `${type} (${range})` : type;
}

/** Option name -> meaning, from a README Options section's markdown table. */
export function readmeOptionMeanings(optionsSection: string | undefined): Map<string, string> {
  const meanings = new Map<string, string>();
  if (!optionsSection) return meanings;
  for (const line of optionsSection.split('\n')) {
    if (!line.trim().startsWith('|')) continue;
    // split on unescaped pipes
    const cells = line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`([A-Za-z0-9_]+)`/.exec(cells[0] ?? '');
    if (name && cells.length >= 2) meanings.set(name[1], cells[cells.length - 1]);
  }
  return meanings;
}

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}

export function optionRows(schema: JsonSchema, meanings: Map<string, string> = new Map()): OptionRow[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    type: describeType(s),
    default: s.default !== undefined ? JSON.stringify(s.default) : required.has(name) ? 'required' : '—',
    description: s.description ?? meanings.get(name) ?? '',
  }));
}

export function renderOptionsTable(rows: OptionRow[]): string {
  if (rows.length === 0) return 'No options.';
  const lines = ['| option | type | default | description |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const fallback = r.default === 'required' || r.default === '—';
    lines.push(`| \`${r.name}\` | ${cell(r.type)} | ${fallback ? r.default : `\`${cell(r.default)}\``} | ${cell(r.description)} |`);
  }
  return lines.join('\n');
}
