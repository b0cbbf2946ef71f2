/**
 * The plugin registry, on tsyringe.
 *
 * `createRegistry().use(rope, flash)` registers each provider in the registry's own container
 * under its slot's token (a multi-binding: `container.resolveAll(slotToken('positional'))`
 * lists what is installed). Shared services (rng, logger, progress, backend info) are
 * singletons of that container. Each model build gets a child container (`createScope()`),
 * so per-model state never leaks between models. Nothing is written to tsyringe's global
 * container.
 */
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { ConfigError, PluginError, RegistryConflictError, UnknownKindError } from './errors.js';
import { KNOWN_KINDS } from './config/catalogue.js';
import { didYouMean } from './config/did-you-mean.js';
import { describeValue, formatZodIssues, joinPath } from './config/format.js';
import type { CompatibilityEnv, CreateContext, ModelDims, Paper, Plugin, Provider, SlotConfig } from './plugin.js';
import { isPlugin } from './plugin.js';
import { Rng } from './rng.js';
import { BACKEND_INFO, LOGGER, PROGRESS, RNG, consoleLogger, silentProgress, type Logger, type Progress } from './services.js';
import { SLOT_NAMES, SLOT_SPEC_VERSIONS, slotToken, type SlotCapabilities, type SlotInstances, type SlotName } from './slots.js';
import { tf } from './tfjs.js';

export interface RegistryEntry {
  slot: SlotName;
  kind: string;
  plugin: string;
  version: string;
  paper?: Paper;
  papers: Paper[];
  description: string;
}

interface Registered {
  provider: Provider;
  plugin: Plugin;
}

export interface RegistryOptions {
  seed?: number;
  logger?: Logger;
  progress?: Progress;
}

export const DEFAULT_DIMS: ModelDims = { vocab: 256, dModel: 64, heads: 4, headDim: 16, layers: 1, maxLen: 1024 };

export class Registry {
  readonly container: DependencyContainer;
  private readonly providers = new Map<SlotName, Map<string, Registered>>();
  private readonly plugins = new Map<string, Plugin>();

  constructor(options: RegistryOptions = {}) {
    this.container = rootContainer.createChildContainer();
    this.container.register(RNG, { useValue: new Rng(options.seed ?? 0) });
    this.container.register(LOGGER, { useValue: options.logger ?? consoleLogger });
    this.container.register(PROGRESS, { useValue: options.progress ?? silentProgress });
    this.container.register(BACKEND_INFO, {
      useFactory: () => ({ name: tf.getBackend(), threads: 1 }),
    });
    for (const slot of SLOT_NAMES) this.providers.set(slot, new Map());
  }

  /**
   * Install plugins. The same plugin at the same version again is a no-op; another version
   * of an installed plugin, or a second plugin claiming an installed slot+kind, is a
   * RegistryConflictError naming both.
   */
  use(...plugins: Plugin[]): this {
    for (const plugin of plugins) {
      if (!isPlugin(plugin)) {
        throw new PluginError(
          `registry.use() takes plugins made with definePlugin(); got ${describeValue(plugin)}. ` +
            'Pass the package\'s default export: import rope from "@weft/pos-rope".',
        );
      }
      const installed = this.plugins.get(plugin.name);
      if (installed) {
        if (installed.version === plugin.version) continue;
        throw new RegistryConflictError(
          `Plugin ${plugin.name} is installed twice, at versions ${installed.version} and ${plugin.version}. ` +
            'Install one version (check for duplicate copies with `npm ls ' + plugin.name + '`).',
        );
      }
      for (const provider of plugin.provides) {
        if (provider.spec !== SLOT_SPEC_VERSIONS[provider.slot as SlotName]) {
          throw new PluginError(
            `${plugin.name} implements ${provider.slot} spec v${provider.spec}, but this @weft/core speaks v${SLOT_SPEC_VERSIONS[provider.slot as SlotName]}. ` +
              'Upgrade the plugin or core so they match.',
          );
        }
        const existing = this.providers.get(provider.slot)!.get(provider.kind);
        if (existing) {
          throw new RegistryConflictError(
            `Both ${existing.plugin.name}@${existing.plugin.version} and ${plugin.name}@${plugin.version} provide ${provider.slot} "${provider.kind}". ` +
              'Install only one of them.',
          );
        }
      }
      for (const provider of plugin.provides) {
        this.providers.get(provider.slot)!.set(provider.kind, { provider, plugin });
        this.container.register(slotToken(provider.slot), { useValue: provider });
      }
      this.plugins.set(plugin.name, plugin);
    }
    return this;
  }

  /** Every installed provider: slot, kind, plugin, version, paper. */
  list(): RegistryEntry[] {
    const out: RegistryEntry[] = [];
    for (const [slot, kinds] of this.providers) {
      for (const [kind, { plugin, provider }] of kinds) {
        const papers = [...(plugin.paper ? [plugin.paper] : []), ...(plugin.papers ?? [])];
        out.push({ slot, kind, plugin: plugin.name, version: plugin.version, paper: papers[0], papers, description: provider.description });
      }
    }
    return out;
  }

  installedPlugins(): Plugin[] {
    return [...this.plugins.values()];
  }

  kinds(slot: SlotName): string[] {
    return [...this.providers.get(slot)!.keys()];
  }

  has(slot: SlotName, kind: string): boolean {
    return this.providers.get(slot)!.has(kind);
  }

  /** The provider of slot+kind, or an UnknownKindError that says what is installed and what to install. */
  provider<S extends SlotName>(slot: S, kind: string, path = ''): Provider<S> {
    const found = this.providers.get(slot)!.get(kind);
    if (found) return found.provider as unknown as Provider<S>;
    const installed = this.kinds(slot);
    const known = KNOWN_KINDS[slot]?.[kind];
    const hint = known
      ? ` "${kind}" is provided by ${known}: install it (npm install ${known}) and add it to the registry (or to the config's "plugins").`
      : didYouMean(kind, installed);
    throw new UnknownKindError(
      path,
      kind,
      `No ${slot} kind "${kind}" (installed: ${installed.length ? installed.join(', ') : 'none'}).${hint}`,
    );
  }

  /**
   * Validate a slot config and fill in defaults, recursing into nested slot configs. Throws
   * ConfigError / UnknownKindError naming the JSON path, the bad value and the fix.
   */
  validate(slot: SlotName, config: unknown, path = ''): SlotConfig {
    if (typeof config === 'string') config = { kind: config };
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new ConfigError(path, `expected a ${slot} config like { "kind": "${this.kinds(slot)[0] ?? '...'}" }; got ${describeValue(config)}`);
    }
    const { kind, ...options } = config as Record<string, unknown>;
    if (typeof kind !== 'string') {
      throw new ConfigError(joinPath(path, 'kind'), `expected the name of a ${slot} kind (installed: ${this.kinds(slot).join(', ') || 'none'}); got ${describeValue(kind)}`);
    }
    const provider = this.provider(slot, kind, joinPath(path, 'kind'));
    const shape = provider.options.shape as Record<string, z.ZodType>;
    const allowed = Object.keys(shape);
    for (const key of Object.keys(options)) {
      if (!(key in shape)) {
        throw new ConfigError(
          joinPath(path, key),
          `${slot} "${kind}" has no option "${key}" (options: ${allowed.length ? allowed.join(', ') : 'none'}).${didYouMean(key, allowed)}`,
        );
      }
    }
    const nestedValues: Record<string, unknown> = {};
    for (const field of Object.keys(provider.nested)) {
      if (field in options) {
        nestedValues[field] = options[field];
        delete options[field];
      }
    }
    const parsed = provider.options.safeParse({ ...options, ...nestedValues }, { reportInput: true });
    if (!parsed.success) {
      const lines = formatZodIssues(parsed.error, options, path).filter((l) => !Object.keys(provider.nested).some((f) => l.startsWith(joinPath(path, f))));
      if (lines.length) throw new ConfigError('', lines.join('\n'));
    }
    const normalized: SlotConfig = { kind, ...(parsed.success ? parsed.data : options) };
    for (const [field, nestedSlot] of Object.entries(provider.nested)) {
      const value = field in nestedValues ? nestedValues[field] : (parsed.success ? (parsed.data as Record<string, unknown>)[field] : undefined);
      if (value !== undefined) normalized[field] = this.validate(nestedSlot, value, joinPath(path, field));
    }
    return normalized;
  }

  /** Static capabilities of a (validated) slot config. */
  capabilities<S extends SlotName>(slot: S, config: SlotConfig): SlotCapabilities[S] {
    return this.provider(slot, config.kind).capabilities(config, this) as SlotCapabilities[S];
  }

  /** Run a validated config's compatibility check (and its provider's nested checks). */
  check(slot: SlotName, config: SlotConfig, env: Omit<CompatibilityEnv, 'registry'>): void {
    this.provider(slot, config.kind, env.path).check(config, { ...env, registry: this });
  }

  /** A child container for one model build: per-model state lives there. */
  createScope(): DependencyContainer {
    return this.container.createChildContainer();
  }

  /**
   * Build one slot instance standalone (tests, benchmarks, or calling a kernel directly):
   * `registry.create('attention', { kind: 'flash', block: 64 })`.
   */
  create<S extends SlotName>(
    slot: S,
    config: SlotConfig | string,
    ctx: Partial<Omit<CreateContext, 'build' | 'registry' | 'dims'>> & { dims?: Partial<ModelDims> } = {},
  ): SlotInstances[S] {
    const path = ctx.path ?? slot;
    const validated = this.validate(slot, config, path);
    const container = ctx.container ?? this.createScope();
    const context = this.makeContext({
      container,
      modelContainer: ctx.modelContainer ?? container,
      rng: ctx.rng ?? container.resolve(RNG).fork(path),
      dims: { ...DEFAULT_DIMS, ...ctx.dims },
      layerIndex: ctx.layerIndex ?? 0,
      path,
    });
    return this.provider(slot, validated.kind, path).create(validated, context) as SlotInstances[S];
  }

  /** The CreateContext a builder hands to providers; `build` validates and creates nested slots. */
  makeContext(base: Omit<CreateContext, 'build' | 'registry'>): CreateContext {
    const ctx: CreateContext = {
      ...base,
      registry: this,
      build: <S extends SlotName>(slot: S, config: SlotConfig | string, path?: string): SlotInstances[S] => {
        const p = path ?? joinPath(base.path, slot);
        const validated = this.validate(slot, config, p);
        const child = this.makeContext({ ...base, path: p, rng: base.rng.fork(p) });
        return this.provider(slot, validated.kind, p).create(validated, child) as SlotInstances[S];
      },
    };
    return ctx;
  }
}

export function createRegistry(options?: RegistryOptions): Registry {
  return new Registry(options);
}
