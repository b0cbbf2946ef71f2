/**
 * The plugins the benchmarks compare: the attention-kernel, mixer, head-layout, KV-cache,
 * reducer and memory packages this package depends on (its package.json), imported
 * explicitly — never found by scanning node_modules.
 * One that is missing or fails to load is recorded with the reason and left out, so the
 * harness runs on any subset. To benchmark a new kernel, add it to package.json.
 */
import { readFileSync } from 'node:fs';
import { createRegistry, isPlugin, type Plugin, type Registry, type SlotName } from '@weft/core';
import { standard } from '@weft/nn';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

/** The families a benchmark suite measures (see variants.ts for the model variants). */
export const BENCH_FAMILIES = ['attn', 'mixer', 'heads', 'moe', 'kv', 'reduce', 'memory'] as const;

/** `@weft/<family>-*` dependencies of @weft/bench for the families above, in name order. */
export function benchPluginNames(
  packageJson: string = readFileSync(PACKAGE_JSON, 'utf8'),
): string[] {
  const deps =
    (JSON.parse(packageJson) as { dependencies?: Record<string, string> }).dependencies ?? {};
  return Object.keys(deps)
    .filter((name) => new RegExp(`^@weft/(${BENCH_FAMILIES.join('|')})-`).test(name))
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
export function providerOf(registry: Registry, slot: SlotName, kind: string): string {
  return registry.list().find((e) => e.slot === slot && e.kind === kind)?.plugin ?? '?';
}

export interface Variant {
  slot: 'attention' | 'mixer';
  kind: string;
  /** Why the variant cannot run in a causal model (decode, train), if it cannot. */
  skip?: string;
  /** A bidirectional-only kernel: the kernel sweep runs it non-causally instead of skipping it. */
  bidirectional?: true;
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
            bidirectional: true,
            skip: 'skipped: bidirectional-only kernel (these benchmarks are causal)',
          };
    });
  // Segment-memory mixers (@weft/memory-*) need segmentLength: the `memory` suite runs them.
  const mixers = registry
    .kinds('mixer')
    .filter(
      (kind) =>
        kind !== 'attention' &&
        pick(kind) &&
        !providerOf(registry, 'mixer', kind).startsWith('@weft/memory-'),
    )
    .map((kind): Variant => {
      const causal = registry.capabilities('mixer', registry.validate('mixer', { kind })).causal;
      // The kernel sweep still runs a bidirectional mixer's forward; causal models skip it.
      return causal
        ? { slot: 'mixer', kind }
        : {
            slot: 'mixer',
            kind,
            bidirectional: true,
            skip: 'skipped: bidirectional-only mixer (these models are causal)',
          };
    });
  return [...attention, ...mixers];
}
