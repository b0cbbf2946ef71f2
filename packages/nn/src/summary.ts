/** model.summary(): one row per top-level component and per block, with parameter counts. */
import type { Module } from '@weft/core';

function count(m: Module): number {
  return m.numParameters();
}

export function summarize(model: Module & { resolved?: { layers: Array<{ mixer: { kind: string }; feedforward: { kind: string } | null }> } }): string {
  const rows: Array<[string, string, string]> = [];
  const layers = model.resolved?.layers ?? [];
  for (const [name, child] of model.namedModules()) {
    if (!name || name.split('.').length > 2) continue;
    const blockMatch = /^blocks\.(\d+)$/.exec(name);
    let kind = child.constructor.name;
    if (blockMatch) {
      const l = layers[Number(blockMatch[1])];
      if (l) kind = `${l.mixer.kind} + ${l.feedforward ? l.feedforward.kind : 'no ffn'}`;
    }
    if (name === 'blocks') continue;
    rows.push([name, kind, count(child).toLocaleString('en-US')]);
  }
  const total = model.numParameters();
  rows.push(['total', '', total.toLocaleString('en-US')]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), ['layer', 'kind', 'params'][c].length));
  const line = (r: string[]) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}`;
  return [line(['layer', 'kind', 'params']), '-'.repeat(widths[0] + widths[1] + widths[2] + 4), ...rows.map(line)].join('\n');
}
