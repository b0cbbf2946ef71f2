/**
 * The plugin contract. A plugin package's default export is `definePlugin({...})`: a plain,
 * frozen object naming the paper it implements and the slot providers it adds. Plugins are
 * passed to `registry.use()` explicitly; nothing registers itself on import.
 */
import { z } from 'zod';
import type { DependencyContainer } from 'tsyringe';
import { PluginError } from './errors.js';
import type { Rng } from './rng.js';
import { SLOT_NAMES, SLOT_SPEC_VERSIONS, type SlotCapabilities, type SlotInstances, type SlotName } from './slots.js';
import type { Registry } from './registry.js';

const PLUGIN_MARKER = Symbol.for('weft.plugin');

export interface Paper {
  title: string;
  arxiv?: string;
  year: number;
  url?: string;
}

/** Sizes of the model a provider is being built into. */
export interface ModelDims {
  vocab: number;
  dModel: number;
  heads: number;
  headDim: number;
  layers: number;
  maxLen: number;
}

/** A validated slot config: `{ kind, ...options }` with defaults filled in. */
export interface SlotConfig {
  kind: string;
  [option: string]: unknown;
}

export interface CreateContext {
  readonly registry: Registry;
  /**
   * The container of what is being built: a layer's own child container inside a model build
   * (layer-scoped services such as the layer's positional encoding), else the model's.
   */
  readonly container: DependencyContainer;
  /** The model's child container, shared by all its layers: per-model state lives here. */
  readonly modelContainer: DependencyContainer;
  readonly rng: Rng;
  readonly dims: ModelDims;
  readonly layerIndex: number;
  /** JSON path of the config being built, for error messages. */
  readonly path: string;
  /** Build a nested slot (e.g. the attention mixer builds its kernel and positional encoding). */
  build<S extends SlotName>(slot: S, config: SlotConfig | string, path?: string): SlotInstances[S];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptionsSchema = z.ZodObject<any>;

/** What a provider's `check` sees: the surroundings it will be built into. */
export interface CompatibilityEnv {
  readonly registry: Registry;
  /** JSON path of the provider's config. */
  readonly path: string;
  /** The model is causal (decoder) rather than bidirectional. */
  readonly causal: boolean;
  /** The positional encoding in force for this layer, if any. */
  readonly positional?: SlotConfig;
}

export interface Provider<S extends SlotName = SlotName, O = Record<string, unknown>> {
  readonly slot: S;
  readonly kind: string;
  /** Spec version of the slot interface this provider implements. */
  readonly spec: number;
  readonly options: OptionsSchema;
  /** Option fields that are themselves slot configs (validated recursively). */
  readonly nested: Readonly<Record<string, SlotName>>;
  readonly description: string;
  capabilities(options: O, registry: Registry): SlotCapabilities[S];
  /**
   * Refuse impossible combinations before anything is built: throw IncompatibleError with
   * the path, what clashes and what to change.
   */
  check(options: O, env: CompatibilityEnv): void;
  create(options: O, ctx: CreateContext): SlotInstances[S];
}

export interface ProviderDef<S extends SlotName, Schema extends OptionsSchema> {
  options?: Schema;
  nested?: Record<string, SlotName>;
  description?: string;
  capabilities?: SlotCapabilities[S] | ((options: z.output<Schema>, registry: Registry) => SlotCapabilities[S]);
  check?(options: z.output<Schema>, env: CompatibilityEnv): void;
  create(options: z.output<Schema>, ctx: CreateContext): SlotInstances[S];
}

const KIND_PATTERN = /^[a-z][a-z0-9-]*$/;

function defineProvider<S extends SlotName>(slot: S) {
  return <Schema extends OptionsSchema = z.ZodObject<Record<string, never>>>(
    kind: string,
    def: ProviderDef<S, Schema>,
  ): Provider<S, z.output<Schema>> => {
    if (!KIND_PATTERN.test(kind)) {
      throw new PluginError(`A ${slot} provider kind must match ${KIND_PATTERN} (lowercase, digits, dashes); got "${kind}"`);
    }
    const caps = def.capabilities;
    return Object.freeze({
      slot,
      kind,
      spec: SLOT_SPEC_VERSIONS[slot],
      options: (def.options ?? z.object({})) as OptionsSchema,
      nested: Object.freeze({ ...(def.nested ?? {}) }),
      description: def.description ?? '',
      capabilities: (options: z.output<Schema>, registry: Registry) =>
        (typeof caps === 'function' ? caps(options, registry) : (caps ?? ({} as SlotCapabilities[S]))) as SlotCapabilities[S],
      check: def.check ?? (() => undefined),
      create: def.create,
    });
  };
}

export const embedding = defineProvider('embedding');
export const positional = defineProvider('positional');
export const attention = defineProvider('attention');
export const mixer = defineProvider('mixer');
export const heads = defineProvider('heads');
export const feedforward = defineProvider('feedforward');
export const norm = defineProvider('norm');
export const reducer = defineProvider('reducer');
export const memory = defineProvider('memory');
export const kvCache = defineProvider('kvCache');
export const trainer = defineProvider('trainer');
export const parallel = defineProvider('parallel');

export interface PluginManifest {
  name: string;
  version: string;
  paper?: Paper;
  /** Several papers (e.g. pos-temperature cites one per kind). */
  papers?: Paper[];
  description?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  provides: Provider<any, any>[];
}

export interface Plugin extends Readonly<PluginManifest> {
  readonly [PLUGIN_MARKER]: true;
}

const NAME_PATTERN = /^(@[a-z0-9-]+\/)?[a-z0-9][a-z0-9.-]*$/;
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export function definePlugin(manifest: PluginManifest): Plugin {
  const where = `Plugin "${manifest?.name ?? '?'}"`;
  if (!manifest || typeof manifest.name !== 'string' || !NAME_PATTERN.test(manifest.name)) {
    throw new PluginError(`A plugin needs a package-style name such as "@weft/pos-rope"; got ${JSON.stringify(manifest?.name)}`);
  }
  if (typeof manifest.version !== 'string' || !SEMVER.test(manifest.version)) {
    throw new PluginError(`${where}: version must be semver (read it from package.json); got ${JSON.stringify(manifest.version)}`);
  }
  const papers = [...(manifest.paper ? [manifest.paper] : []), ...(manifest.papers ?? [])];
  for (const p of papers) {
    if (!p.title || !Number.isInteger(p.year)) throw new PluginError(`${where}: each paper needs a title and a year`);
  }
  if (!Array.isArray(manifest.provides) || manifest.provides.length === 0) {
    throw new PluginError(`${where}: "provides" must list at least one provider (e.g. positional('rope', {...}))`);
  }
  const seen = new Set<string>();
  for (const p of manifest.provides) {
    if (!p || !(SLOT_NAMES as readonly string[]).includes(p.slot) || typeof p.create !== 'function') {
      throw new PluginError(`${where}: every entry of "provides" must come from a slot helper such as positional() or attention()`);
    }
    const key = `${p.slot}:${p.kind}`;
    if (seen.has(key)) throw new PluginError(`${where}: provides ${p.slot} "${p.kind}" twice`);
    seen.add(key);
  }
  return Object.freeze({ ...manifest, provides: Object.freeze([...manifest.provides]), [PLUGIN_MARKER]: true as const }) as Plugin;
}

export function isPlugin(value: unknown): value is Plugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARKER] === true;
}
