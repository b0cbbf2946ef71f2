/** A registry holding the standard plugin and the plugin packages a config names. */
import { createRegistry, type Registry } from '@weft/core';
import { standard } from '@weft/nn';
import { loadPlugins } from '../plugins/load-plugins.js';

export async function createModelRegistry(pluginNames: readonly string[], from?: string): Promise<Registry> {
  return createRegistry().use(standard, ...(await loadPlugins(pluginNames, from)));
}
