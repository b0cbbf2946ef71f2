/**
 * Loading the plugins a config names: `import(name)` of exactly those packages (no scanning),
 * taking each one's default export (a definePlugin manifest) for `registry.use()`.
 */
import { didYouMean, isPlugin, PluginError, type Plugin } from '@weft/core';
import { pluginCandidates } from './plugin-candidates.js';

export type Importer = (specifier: string) => Promise<unknown>;

const defaultImporter: Importer = (specifier) => import(specifier);

/** True when `error` says that the package `name` itself (not something it imports) is missing. */
function isMissingPackage(error: unknown, name: string): boolean {
  const e = error as NodeJS.ErrnoException;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') return false;
  return new RegExp(`['"]${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"/]`).test(e.message ?? '');
}

function notInstalled(name: string, from: string): PluginError {
  const suggestion = didYouMean(name, pluginCandidates().filter((n) => n !== name));
  return new PluginError(
    `Plugin package "${name}" is not installed. Install it with npm install ${name}, or remove it from ${from}.${suggestion}`,
  );
}

/** Import one plugin package and return its manifest. */
export async function loadPlugin(name: string, from = '"plugins"', importer: Importer = defaultImporter): Promise<Plugin> {
  let mod: unknown;
  try {
    mod = await importer(name);
  } catch (error) {
    if (isMissingPackage(error, name)) throw notInstalled(name, from);
    throw new PluginError(`Plugin package "${name}" failed to load: ${(error as Error).message ?? String(error)}`);
  }
  const candidate = (mod as { default?: unknown })?.default;
  // A CommonJS build seen through ESM interop may nest the default once more.
  const plugin = isPlugin(candidate) ? candidate : (candidate as { default?: unknown })?.default;
  if (!isPlugin(plugin)) {
    throw new PluginError(
      `Package "${name}" is not a Weft plugin: its default export is not a definePlugin() manifest. Remove it from ${from}.`,
    );
  }
  return plugin;
}

/** Import every named package, in order, once each. */
export async function loadPlugins(names: readonly string[], from?: string, importer?: Importer): Promise<Plugin[]> {
  const plugins: Plugin[] = [];
  for (const name of new Set(names)) plugins.push(await loadPlugin(name, from, importer));
  return plugins;
}
