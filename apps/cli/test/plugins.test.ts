import { definePlugin, norm, PluginError } from '@weft/core';
import { LayerNorm } from '@weft/nn';
import { loadPlugin, loadPlugins } from '../src/plugins/load-plugins.js';

describe('plugin loader', () => {
  it('says an unknown package is not installed, how to install it, and the nearest known name', async () => {
    const error = await loadPlugin('@weft/pos-rop').catch((e: unknown) => e);
    expect(PluginError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'Plugin package "@weft/pos-rop" is not installed. Install it with npm install @weft/pos-rop, or remove it from "plugins". Did you mean "@weft/pos-rope"?',
    );
  });

  it('refuses a package whose default export is not a plugin manifest', async () => {
    await expect(loadPlugin('zod')).rejects.toThrow('Package "zod" is not a Weft plugin: its default export is not a definePlugin() manifest. Remove it from "plugins".');
  });

  it('takes the default export of exactly the named packages, once each', async () => {
    const plugin = definePlugin({ name: '@weft/test-norm', version: '1.0.0', provides: [norm('test-norm', { create: (_o, ctx) => new LayerNorm(ctx.dims.dModel, ctx.rng) })] });
    const imported: string[] = [];
    const importer = async (name: string) => {
      imported.push(name);
      return { default: plugin };
    };
    const plugins = await loadPlugins(['@weft/test-norm', '@weft/test-norm'], '"plugins"', importer);
    expect(plugins).toEqual([plugin]);
    expect(imported).toEqual(['@weft/test-norm']);
  });

  it('reports a plugin that fails while loading, without calling it missing', async () => {
    const importer = async () => {
      throw new Error('boom');
    };
    await expect(loadPlugin('@weft/broken', '"plugins"', importer)).rejects.toThrow('Plugin package "@weft/broken" failed to load: boom');
  });
});
