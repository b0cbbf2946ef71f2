/** weft plugins: what the registry holds — the standard plugin plus any loaded by name. */
import { readJsonFile } from '../config/read-json-file.js';
import { createModelRegistry } from '../model/model-registry.js';
import { bundledPluginPackages } from '../plugins/plugin-candidates.js';
import type { Command } from './command.js';

export const pluginsCommand: Command = {
  spec: {
    name: 'plugins',
    summary: 'List installed plugins: slot, kind, package, version and paper.',
    positionals: [],
    options: [
      { name: 'plugins', type: 'list', value: 'a,b', description: 'Also load these plugin packages.' },
      { name: 'all', type: 'boolean', description: 'Load every plugin package this CLI ships with (its package.json dependencies).' },
      { name: 'config', type: 'string', value: 'FILE', description: 'Also load the "plugins" a run config names.' },
      { name: 'json', type: 'boolean', description: 'Print one JSON array.' },
    ],
  },

  async run({ options }, io) {
    const names = [...((options.plugins as string[] | undefined) ?? []), ...(options.all ? bundledPluginPackages() : [])];
    if (options.config !== undefined) {
      const raw = readJsonFile(options.config as string, 'config file') as { plugins?: unknown };
      if (Array.isArray(raw?.plugins)) names.push(...raw.plugins.filter((p): p is string => typeof p === 'string'));
    }
    const registry = await createModelRegistry(names, options.config !== undefined ? `"plugins" in ${options.config}` : '--plugins');
    const rows = registry.list().map((e) => ({
      slot: e.slot,
      kind: e.kind,
      package: e.plugin,
      version: e.version,
      paper: e.paper ? { title: e.paper.title, arxiv: e.paper.arxiv ?? null, year: e.paper.year } : null,
    }));
    if (options.json) {
      io.out(JSON.stringify(rows));
      return 0;
    }
    const cells = rows.map((r) => [r.slot, r.kind, r.package, r.version, r.paper ? `${r.paper.title} (${r.paper.year}${r.paper.arxiv ? `, arXiv:${r.paper.arxiv}` : ''})` : '-']);
    const header = ['slot', 'kind', 'package', 'version', 'paper'];
    const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ');
    io.out(line(header));
    for (const r of cells) io.out(line(r));
    return 0;
  },
};
