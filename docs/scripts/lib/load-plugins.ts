/**
 * Import every workspace plugin package (its src/index.ts, so no build is needed) and the
 * standard plugin from @weft/nn, and install them all in one registry.
 *
 * Run under `node --conditions=source --import tsx` so the plugins' own `@weft/*` imports
 * resolve to the same TypeScript sources as the imports here (one core, one registry).
 */
import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OptionsSchema, Plugin, Registry } from '@weft/core';
import { PLUGINS_DIR, REPO_ROOT } from './paths.js';

export interface LoadedPlugin {
  /** Page slug: the plugin folder name (`pos-rope`), or `standard` for @weft/nn. */
  slug: string;
  /** The package folder (README.md, test/ live there). */
  dir: string;
  packageName: string;
  plugin: Plugin;
}

export interface LoadResult {
  registry: Registry;
  /** Option schemas as JSON schema (input side: defaults shown, not required). */
  toJSONSchema: (schema: OptionsSchema) => unknown;
  plugins: LoadedPlugin[];
  /** Folders whose src/index.ts failed to import or is not a plugin, with the reason. */
  failed: { slug: string; reason: string }[];
}

const importPath = (file: string) => import(pathToFileURL(file).href);

export async function loadPlugins(): Promise<LoadResult> {
  const core = (await importPath(join(REPO_ROOT, 'packages/core/src/index.ts'))) as typeof import('@weft/core');
  const nn = await importPath(join(REPO_ROOT, 'packages/nn/src/index.ts'));
  const registry = core.createRegistry();
  const plugins: LoadedPlugin[] = [
    { slug: 'standard', dir: join(REPO_ROOT, 'packages/nn'), packageName: '@weft/nn', plugin: nn.standard },
  ];
  const failed: LoadResult['failed'] = [];

  // Dot-folders are scaffolds in progress; folders without src/index.ts are not packages yet.
  const folders = readdirSync(PLUGINS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(PLUGINS_DIR, d.name, 'src/index.ts')))
    .map((d) => d.name)
    .sort();
  for (const slug of folders) {
    const dir = join(PLUGINS_DIR, slug);
    try {
      const mod = await importPath(join(dir, 'src/index.ts'));
      if (!core.isPlugin(mod.default)) throw new Error('src/index.ts has no definePlugin() default export');
      const packageName = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name as string;
      plugins.push({ slug, dir, packageName, plugin: mod.default });
    } catch (error) {
      failed.push({ slug, reason: (error as Error).message.split('\n')[0] });
    }
  }
  registry.use(...plugins.map((p) => p.plugin));
  const toJSONSchema = (schema: OptionsSchema) => core.z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return { registry, toJSONSchema, plugins, failed };
}
