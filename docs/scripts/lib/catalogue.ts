/** The catalogue: every plugin, by family, as rows for the filterable table. */
import { compareFamilies, familyOf, familyTitle } from './families.js';
import type { LoadedPlugin } from './load-plugins.js';
import { papersOf, paperUrl } from './paper.js';

export interface CatalogueRow {
  slug: string;
  packageName: string;
  family: string;
  familyTitle: string;
  kinds: string[];
  paper: string;
  paperUrl?: string;
  year?: number;
  description: string;
}

export function catalogueRows(plugins: LoadedPlugin[]): CatalogueRow[] {
  return plugins
    .map(({ slug, packageName, plugin }) => {
      const [first] = papersOf(plugin);
      return {
        slug,
        packageName,
        family: familyOf(slug),
        familyTitle: familyTitle(familyOf(slug)),
        kinds: plugin.provides.map((p) => `${p.slot}:${p.kind}`),
        paper: first?.title ?? '',
        paperUrl: first ? paperUrl(first) : undefined,
        year: first?.year,
        description: plugin.description ?? '',
      };
    })
    .sort((a, b) => compareFamilies(a.family, b.family) || a.slug.localeCompare(b.slug));
}

export function renderCataloguePage(rows: CatalogueRow[]): string {
  return [
    '---',
    'title: Plugin catalogue',
    '---',
    '',
    '<script setup>',
    "import rows from './catalogue.json';",
    '</script>',
    '',
    '# Plugin catalogue',
    '',
    `Every plugin package in this repository (${rows.length}, counting the \`standard\` plugin of @weft/nn), grouped by family. ` +
      'Type in the filter to narrow by name, kind, slot, paper or year. Each page is generated from the plugin\'s manifest, its option schemas and its README.',
    '',
    '<PluginCatalogue :rows="rows" />',
    '',
  ].join('\n');
}
