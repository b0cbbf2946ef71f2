/**
 * Writes docs/plugins/<slug>.md for every workspace plugin (and @weft/nn's `standard`),
 * plus the catalogue (docs/plugins/index.md + catalogue.json).
 *
 *   node --conditions=source --import tsx scripts/generate-plugin-pages.ts [--strict]
 *
 * --strict: fail when a plugin folder's src/index.ts cannot be imported (CI); without it
 * such folders are reported and skipped.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueRows, renderCataloguePage } from './lib/catalogue.js';
import { loadPlugins } from './lib/load-plugins.js';
import { PLUGIN_PAGES_DIR, REPO_ROOT } from './lib/paths.js';
import { renderPluginPage } from './lib/plugin-page.js';

const readIfExists = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

async function main(): Promise<number> {
  const strict = process.argv.includes('--strict');
  const { registry, toJSONSchema, plugins, failed } = await loadPlugins();
  for (const f of failed) console.error(`generate-plugin-pages: skipped plugins/${f.slug}: ${f.reason}`);
  if (strict && failed.length) return 1;

  // The folder is generated: start clean so removed plugins lose their pages.
  if (existsSync(PLUGIN_PAGES_DIR)) {
    for (const name of readdirSync(PLUGIN_PAGES_DIR)) rmSync(join(PLUGIN_PAGES_DIR, name), { recursive: true });
  }
  mkdirSync(PLUGIN_PAGES_DIR, { recursive: true });

  const benchmarks = readIfExists(join(REPO_ROOT, 'BENCHMARKS.md'));
  for (const loaded of plugins) {
    const readme = readIfExists(join(loaded.dir, 'README.md'));
    writeFileSync(join(PLUGIN_PAGES_DIR, `${loaded.slug}.md`), renderPluginPage({ loaded, registry, readme, benchmarks, toJSONSchema }));
  }
  const rows = catalogueRows(plugins);
  writeFileSync(join(PLUGIN_PAGES_DIR, 'catalogue.json'), JSON.stringify(rows, null, 2) + '\n');
  writeFileSync(join(PLUGIN_PAGES_DIR, 'index.md'), renderCataloguePage(rows));
  console.log(`generate-plugin-pages: ${plugins.length} plugin pages in docs/plugins/${failed.length ? ` (${failed.length} skipped)` : ''}`);
  return 0;
}

process.exitCode = await main();
