/**
 * VitePress sidebars for the generated API pages (docs/api/): the entry points on /api/, and on
 * an entry point's own pages its members grouped by kind (the folders TypeDoc writes).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SidebarItem {
  text: string;
  link?: string;
  collapsed?: boolean;
  items?: SidebarItem[];
}

const KINDS: [folder: string, label: string][] = [
  ['classes', 'Classes'],
  ['functions', 'Functions'],
  ['interfaces', 'Interfaces'],
  ['type-aliases', 'Types'],
  ['variables', 'Constants'],
  ['enumerations', 'Enums'],
  ['namespaces', 'Namespaces'],
];

/** Module folders (relative to apiDir) holding an index.md, nested ones included: `core`, `core/node`. */
export function apiModules(apiDir: string, under = ''): string[] {
  const here = join(apiDir, under);
  if (!existsSync(here)) return [];
  return readdirSync(here)
    .filter((name) => !KINDS.some(([folder]) => folder === name))
    .map((name) => (under ? `${under}/${name}` : name))
    .filter((rel) => statSync(join(apiDir, rel)).isDirectory() && existsSync(join(apiDir, rel, 'index.md')))
    .sort()
    .flatMap((rel) => [rel, ...apiModules(apiDir, rel)]);
}

export function apiSidebars(apiDir: string, scope = '@weft'): Record<string, SidebarItem[]> {
  const modules = apiModules(apiDir);
  const moduleLinks = modules.map((m) => ({ text: `${scope}/${m}`, link: `/api/${m}/` }));
  const sidebars: Record<string, SidebarItem[]> = { '/api/': [{ text: 'API reference', items: [{ text: 'Index', link: '/api/' }, ...moduleLinks] }] };
  for (const m of modules) {
    const groups: SidebarItem[] = [];
    for (const [folder, label] of KINDS) {
      const dir = join(apiDir, m, folder);
      if (!existsSync(dir)) continue;
      const pages = readdirSync(dir).filter((n) => n.endsWith('.md')).sort((a, b) => a.localeCompare(b));
      groups.push({ text: label, collapsed: pages.length > 12, items: pages.map((n) => ({ text: n.replace(/\.md$/, ''), link: `/api/${m}/${folder}/${n.replace(/\.md$/, '')}` })) });
    }
    sidebars[`/api/${m}/`] = [{ text: `${scope}/${m}`, link: `/api/${m}/` }, ...groups, { text: 'All entry points', items: moduleLinks }];
  }
  return sidebars;
}
