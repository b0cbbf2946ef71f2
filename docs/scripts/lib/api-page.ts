/** Markdown for the API reference: one page per package, one table per entry point. */
import type { ExportedSymbol } from './public-exports.js';

export interface ApiEntry {
  specifier: string;
  source: string;
  symbols: ExportedSymbol[];
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderApiPage(name: string, description: string, entries: ApiEntry[]): string {
  const out = ['---', `title: ${JSON.stringify(name)}`, '---', '', `# ${name}`, '', description, ''];
  for (const e of entries) {
    out.push(`## \`${e.specifier}\``, '', `Entry: \`${e.source}\` · ${e.symbols.length} exports`, '');
    const sorted = [...e.symbols].sort((a, b) => Number(a.typeOnly) - Number(b.typeOnly) || a.name.localeCompare(b.name));
    out.push('::: v-pre', '| export | kind | summary |', '| --- | --- | --- |');
    for (const s of sorted) out.push(`| \`${s.name}\` | ${s.kind} | ${cell(s.summary)} |`);
    out.push(':::', '');
  }
  return out.join('\n');
}

export function renderApiIndex(pages: { slug: string; name: string; description: string }[]): string {
  return [
    '---',
    'title: API reference',
    '---',
    '',
    '# API reference',
    '',
    'The public exports of each library package, generated from the `source` entry of every subpath in its ' +
      '`exports` map: the name, the kind of declaration and the first sentence of its doc comment. ' +
      'Read the package READMEs and the [guide](/guide/concepts) for how the pieces fit; plugins are described on their [own pages](/plugins/).',
    '',
    '| package | what it is |',
    '| --- | --- |',
    ...pages.map((p) => `| [${p.name}](./${p.slug}) | ${cell(p.description)} |`),
    '',
  ].join('\n');
}
