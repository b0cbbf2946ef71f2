/**
 * The plugins the benchmarks compare: the attention-kernel and mixer packages this package
 * depends on (its package.json), imported explicitly — never found by scanning node_modules.
 * One that is missing or fails to load is recorded with the reason and left out, so the
 * harness runs on any subset. To benchmark a new kernel, add it to package.json.
 */
import { readFileSync } from 'node:fs';
import { createRegistry, isPlugin, type Plugin, type Registry } from '@weft/core';
import { standard } from '@weft/nn';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

/** `@weft/attn-*` and `@weft/mixer-*` dependencies of @weft/bench, in name order. */
export function benchPluginNames(
  packageJson: string = readFileSync(PACKAGE_JSON, 'utf8'),
): string[] {
  const deps =
    (JSON.parse(packageJson) as { dependencies?: Record<string, string> }).dependencies ?? {};
  return Object.keys(deps)
    .filter((name) => /^@weft\/(attn|mixer)-/.test(name))
    .sort();
}

export interface PluginStatus {
  name: string;
  version: string;
  status: 'loaded' | 'failed';
  note?: string;
}

export type Importer = (specifier: string) => Promise<unknown>;

async function loadOne(name: string, importer: Importer): Promise<Plugin | string> {
  try {
    const mod = (await importer(name)) as { default?: unknown };
    const candidate = mod?.default;
    const plugin = isPlugin(candidate)
      ? candidate
      : (candidate as { default?: unknown } | undefined)?.default;
    return isPlugin(plugin) ? plugin : 'its default export is not a definePlugin() manifest';
  } catch (error) {
    return ((error as Error)?.message ?? String(error)).split('\n')[0];
  }
}

/** A registry with `standard` plus every benchmark plugin that loads. */
export async function benchRegistry(
  names: readonly string[] = benchPluginNames(),
  importer: Importer = (specifier) => import(specifier),
): Promise<{ registry: Registry; plugins: PluginStatus[] }> {
  const registry = createRegistry().use(standard);
  const plugins: PluginStatus[] = [
    { name: standard.name, version: standard.version, status: 'loaded' },
  ];
  for (const name of names) {
    const loaded = await loadOne(name, importer);
    if (typeof loaded === 'string') {
      plugins.push({ name, version: '', status: 'failed', note: loaded });
      continue;
    }
    try {
      registry.use(loaded);
      plugins.push({ name, version: loaded.version, status: 'loaded' });
    } catch (error) {
      plugins.push({
        name,
        version: loaded.version,
        status: 'failed',
        note: (error as Error).message,
      });
    }
  }
  return { registry, plugins };
}

/** Which plugin provides slot+kind (for the report's plugin column). */
export function providerOf(registry: Registry, slot: 'attention' | 'mixer', kind: string): string {
  return registry.list().find((e) => e.slot === slot && e.kind === kind)?.plugin ?? '?';
}

export interface Variant {
  slot: 'attention' | 'mixer';
  kind: string;
  /** Why the variant cannot run in these (causal) benchmarks, if it cannot. */
  skip?: string;
}

/**
 * The attention kernels and mixers to benchmark (all installed, or those in `kinds`), each
 * with a reason to skip it when it cannot run causally — every benchmark here is causal.
 */
export function benchVariants(registry: Registry, kinds?: readonly string[]): Variant[] {
  const pick = (kind: string) => !kinds || kinds.includes(kind);
  const attention = registry
    .kinds('attention')
    .filter(pick)
    .map((kind): Variant => {
      const causal = registry.capabilities(
        'attention',
        registry.validate('attention', { kind }),
      ).causal;
      return causal
        ? { slot: 'attention', kind }
        : {
            slot: 'attention',
            kind,
            skip: 'skipped: bidirectional-only kernel (these benchmarks are causal)',
          };
    });
  const mixers = registry
    .kinds('mixer')
    .filter((kind) => kind !== 'attention' && pick(kind))
    .map((kind): Variant => ({ slot: 'mixer', kind }));
  return [...attention, ...mixers];
}
