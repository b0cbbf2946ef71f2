/** One plugin's page: README sections around the parts generated from the registry. */
import type { OptionsSchema, Registry, SlotConfig } from '@weft/core';
import { benchmarkRows } from './benchmarks.js';
import { renderCapabilities } from './capabilities.js';
import { familyOf, familyTitle } from './families.js';
import type { LoadedPlugin } from './load-plugins.js';
import { embed, findSection, splitSections } from './markdown-sections.js';
import { optionRows, readmeOptionMeanings, renderOptionsTable, type JsonSchema } from './options-table.js';
import { papersOf, renderPaper } from './paper.js';
import { renderTestStatus, testStatus } from './test-status.js';

export interface PageInputs {
  loaded: LoadedPlugin;
  registry: Registry;
  /** README.md text, if the package has one. */
  readme?: string;
  /** BENCHMARKS.md text, if the repository has one. */
  benchmarks?: string;
  /** zod's z.toJSONSchema, from the same zod copy as the plugins' schemas. */
  toJSONSchema: (schema: OptionsSchema) => unknown;
}

/** The README's lead paragraph: text between the `# title` and the first `##`. */
function intro(readme: string): string | undefined {
  const body = readme.replace(/^#\s.*\n/, '');
  const text = body.split(/^##\s/m)[0].trim();
  return text || undefined;
}

const missing = (what: string) => `_The README has no ${what} section yet._`;

export function renderPluginPage({ loaded, registry, readme, benchmarks, toJSONSchema }: PageInputs): string {
  const { plugin, slug, packageName } = loaded;
  const sections = readme ? splitSections(readme) : new Map<string, string>();
  const section = (pattern: RegExp) => findSection(sections, pattern);
  const meanings = readmeOptionMeanings(section(/^options$/i));
  const papers = papersOf(plugin);
  const kinds = plugin.provides.map((p) => `${p.slot} \`${p.kind}\``).join(', ');
  const out: string[] = [];

  out.push('---', `title: ${JSON.stringify(slug)}`, `description: ${JSON.stringify(plugin.description ?? packageName)}`, '---', '');
  out.push(`# ${packageName}`, '');
  out.push(`<p class="plugin-meta"><span>${familyTitle(familyOf(slug))}</span> · <span>v${plugin.version}</span> · <span>provides ${plugin.provides.length}</span></p>`, '');
  if (plugin.description) out.push(`> ${plugin.description}`, '');
  out.push(`**Provides:** ${kinds}`, '');
  out.push(papers.length ? `**Paper${papers.length > 1 ? 's' : ''}:** ${papers.map(renderPaper).join('; ')}` : '**Paper:** none listed.', '');

  out.push('## The idea', '');
  const idea = section(/^what it is$/i) ?? (readme ? intro(readme) : undefined);
  out.push(idea ? embed(idea) : (plugin.description ?? missing('"What it is"')), '');

  const math = section(/math|equation|notation/i);
  if (math) out.push('## Math', '', embed(math), '');

  const when = section(/^when to use/i);
  if (when) out.push('## When to use it', '', embed(when), '');

  out.push('## Options', '');
  out.push('Generated from each provider\'s zod schema (`z.toJSONSchema`); descriptions come from the schema or the README.', '');
  for (const provider of plugin.provides) {
    const schema = toJSONSchema(provider.options) as JsonSchema;
    out.push(`### ${provider.slot} \`${provider.kind}\``, '');
    if (provider.description) out.push(provider.description, '');
    out.push('::: v-pre', renderOptionsTable(optionRows(schema, meanings)), ':::', '');
  }

  out.push('## Capabilities', '');
  out.push('What each provider declares for its default options; the model builder refuses combinations these rule out.', '');
  for (const provider of plugin.provides) {
    out.push(`### ${provider.slot} \`${provider.kind}\` capabilities`, '');
    let caps: Record<string, unknown>;
    try {
      const config = registry.validate(provider.slot, { kind: provider.kind }) as SlotConfig;
      caps = registry.capabilities(provider.slot, config) as Record<string, unknown>;
      out.push(renderCapabilities(caps), '');
    } catch (error) {
      out.push(`_Capabilities need options without defaults: ${(error as Error).message.split('\n')[0]}_`, '');
    }
  }

  out.push('## Compatibility', '');
  const compatibility = section(/^compatibility/i);
  out.push(compatibility ? embed(compatibility) : missing('Compatibility'), '');

  out.push('## Cost', '');
  const cost = section(/^cost/i);
  out.push(cost ? embed(cost) : missing('Cost'), '');

  out.push('## Install and use', '');
  const install = section(/^install/i);
  const use = section(/^use$|^usage/i);
  out.push(install ? embed(install) : `\`\`\`sh\npnpm add ${packageName}\n\`\`\``, '');
  out.push(use ? embed(use) : missing('Use'), '');

  out.push('## Tests and parity', '');
  out.push(renderTestStatus(testStatus(loaded.dir)), '');

  out.push('## Benchmarks', '');
  const needles = [...new Set([packageName, slug, ...plugin.provides.map((p) => p.kind)])];
  const rows = benchmarkRows(benchmarks, needles);
  out.push(rows ? `From BENCHMARKS.md:\n\n::: v-pre\n${rows}\n:::` : benchmarks ? 'BENCHMARKS.md has no row for this plugin yet.' : 'No BENCHMARKS.md in the repository yet.', '');

  const citation = section(/^paper/i);
  if (citation) out.push('## Paper and citation', '', embed(citation), '');
  if (!readme) out.push('::: warning', `${packageName} has no README.md yet: the sections above that come from it are empty.`, ':::', '');
  return out.join('\n');
}
