/** A provider's capability record (for its default options) as a table. */

export function renderCapabilities(caps: Record<string, unknown>): string {
  const entries = Object.entries(caps);
  if (entries.length === 0) return 'No capabilities declared (this slot has none).';
  const rows = entries.map(([name, value]) => `| \`${name}\` | ${value === true ? '✓ yes' : value === false ? '✗ no' : `\`${JSON.stringify(value)}\``} |`);
  return ['| capability | default options |', '| --- | --- |', ...rows].join('\n');
}
