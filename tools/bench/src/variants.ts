/**
 * Model variants: what a model-level benchmark (decode, reducers, memory) compares. A variant
 * is a label (the row's `kind`), the plugin it exercises, and a *partial model config* merged
 * over the suite's base model — so an attention kernel ({ attention }), a mixer ({ mixer }),
 * a head layout ({ headLayout }, with its { kvCache } when it needs one), a KV cache
 * ({ kvCache }), a reducer ({ reducers }) and a segment memory ({ segmentLength, memory } or a
 * segment mixer) are all described the same way. A variant whose slot kinds are not in the
 * registry (its plugin is missing or failed to load) carries a `skip` reason instead.
 */
import type { Registry, SlotName } from '@weft/core';
import { benchVariants, providerOf } from './plugins.js';

export interface ModelVariant {
  /** Row label (`kind` in the results): `dense`, `mixer:mamba`, `heads:gqa-kv2`, `kv:tova`, ... */
  label: string;
  /** The package the variant measures (`@weft/nn` for baselines). */
  plugin: string;
  /** Partial model config, merged over the suite's base config. */
  config: Record<string, unknown>;
  /** Why the variant cannot run (plugin missing, bidirectional-only kernel, ...). */
  skip?: string;
}

/** A catalog entry: the slot kinds it needs, and its config. */
export interface VariantSpec {
  label: string;
  plugin: string;
  requires: Array<[SlotName, string]>;
  config: Record<string, unknown>;
}

/** Resolve catalog entries against the registry (missing kinds give a skip reason). */
export function resolveVariants(
  registry: Registry,
  specs: readonly VariantSpec[],
  labels?: readonly string[],
): ModelVariant[] {
  return specs
    .filter((s) => !labels || labels.includes(s.label))
    .map((s) => {
      const missing = s.requires.filter(([slot, kind]) => !registry.has(slot, kind));
      return missing.length
        ? {
            label: s.label,
            plugin: s.plugin,
            config: s.config,
            skip: `skipped: ${missing.map(([slot, kind]) => `${slot} "${kind}"`).join(', ')} not installed (${s.plugin} missing or failed to load)`,
          }
        : { label: s.label, plugin: s.plugin, config: s.config };
    });
}

/** Every installed attention kernel and mixer as a model variant ({ attention } / { mixer }). */
export function slotVariants(registry: Registry, kinds?: readonly string[]): ModelVariant[] {
  return benchVariants(registry, kinds).map(({ slot, kind, skip }) => ({
    label: slot === 'mixer' ? `mixer:${kind}` : kind,
    plugin: providerOf(registry, slot, kind),
    config: slot === 'attention' ? { attention: { kind } } : { mixer: { kind } },
    ...(skip ? { skip } : {}),
  }));
}

/**
 * Head layouts and KV caches for the decode suite (the decode model has 4 layers and 4 heads).
 * Layouts that store K/V differently come with their own cache kind.
 */
export const HEADS_KV_VARIANTS: readonly VariantSpec[] = [
  {
    label: 'heads:mqa',
    plugin: '@weft/heads-mqa',
    requires: [['heads', 'mqa']],
    config: { headLayout: { kind: 'mqa' } },
  },
  {
    label: 'heads:gqa-kv2',
    plugin: '@weft/heads-mqa',
    requires: [['heads', 'gqa']],
    config: { headLayout: { kind: 'gqa', kvHeads: 2 } },
  },
  {
    label: 'heads:cla2',
    plugin: '@weft/heads-cla',
    requires: [
      ['heads', 'cla'],
      ['kvCache', 'cla'],
    ],
    config: { headLayout: { kind: 'cla', sharing: 2 }, kvCache: { kind: 'cla' } },
  },
  {
    label: 'heads:mlkv',
    plugin: '@weft/heads-mlkv',
    requires: [
      ['heads', 'mlkv'],
      ['kvCache', 'mlkv'],
    ],
    config: { headLayout: { kind: 'mlkv', groups: 2, kvHeads: 1 }, kvCache: { kind: 'mlkv' } },
  },
  {
    label: 'heads:switchhead',
    plugin: '@weft/moe-switchhead',
    requires: [['heads', 'switchhead']],
    config: { headLayout: { kind: 'switchhead', experts: 4, topK: 2 } },
  },
  {
    label: 'heads:resformer',
    plugin: '@weft/heads-value-residual',
    requires: [['heads', 'resformer']],
    config: { headLayout: { kind: 'resformer' } },
  },
  {
    label: 'heads:svformer',
    plugin: '@weft/heads-value-residual',
    requires: [
      ['heads', 'svformer'],
      ['kvCache', 'svformer'],
    ],
    config: { headLayout: { kind: 'svformer' }, kvCache: { kind: 'svformer' } },
  },
  {
    label: 'heads:inattention',
    plugin: '@weft/heads-inattention',
    requires: [['heads', 'inattention']],
    config: { headLayout: { kind: 'inattention' } },
  },
  {
    label: 'kv:tova-256',
    plugin: '@weft/kv-tova',
    requires: [['kvCache', 'tova']],
    config: { kvCache: { kind: 'tova', budget: 256 } },
  },
  {
    label: 'kv:gear-4bit',
    plugin: '@weft/kv-gear',
    requires: [['kvCache', 'gear']],
    config: { kvCache: { kind: 'gear', bits: 4, rank: 2, outlierPercent: 2 } },
  },
  {
    label: 'kv:relay',
    plugin: '@weft/kv-relay',
    requires: [['kvCache', 'relay']],
    config: { kvCache: { kind: 'relay' } },
  },
];

/**
 * Token reducers for the reducers suite. `span` layers in the middle of the model run on the
 * shortened sequence. Reducers refused in causal models (their capability `causal: false`)
 * run in the suite's bidirectional classifier instead (see suites/reducers.ts).
 */
export interface ReducerSpec extends VariantSpec {
  /** The reducer config (placed at `reducers[0].reducer`). */
  reducer: Record<string, unknown> & { kind: string };
}

const reducerSpec = (
  label: string,
  plugin: string,
  reducer: Record<string, unknown> & { kind: string },
): ReducerSpec => ({ label, plugin, requires: [['reducer', reducer.kind]], config: {}, reducer });

export const REDUCER_VARIANTS: readonly ReducerSpec[] = [
  reducerSpec('reduce:hourglass-k2', '@weft/reduce-hourglass', { kind: 'hourglass', factor: 2 }),
  reducerSpec('reduce:random-ltd-0.5', '@weft/reduce-random-ltd', {
    kind: 'random-ltd',
    keep: 0.5,
  }),
  reducerSpec('reduce:dynamic-pooling', '@weft/reduce-dynamic-pooling', {
    kind: 'dynamic-pooling',
    prior: 0.2,
  }),
  reducerSpec('reduce:funnel-s2', '@weft/reduce-funnel', { kind: 'funnel', stride: 2 }),
  reducerSpec('reduce:tome', '@weft/reduce-tome', { kind: 'tome' }),
  reducerSpec('reduce:ltp', '@weft/reduce-ltp', { kind: 'ltp' }),
];

/**
 * Segment memories for the memory suite: per-layer segment mixers (forwardSegment) and the
 * model-level memory slot. Each runs with the suite's `segmentLength`; `memory:segments-only` is the
 * same model with segments and no memory (a constant-cost floor).
 */
export function memoryVariantSpecs(segmentLength: number): VariantSpec[] {
  return [
    {
      label: 'memory:segments-only',
      plugin: '@weft/nn',
      requires: [],
      config: {},
    },
    {
      label: 'memory:transformer-xl',
      plugin: '@weft/memory-transformer-xl',
      requires: [['mixer', 'transformer-xl']],
      config: { positional: 'none', mixer: { kind: 'transformer-xl', memLength: segmentLength } },
    },
    {
      label: 'memory:rmt',
      plugin: '@weft/memory-rmt',
      requires: [['memory', 'rmt']],
      config: { memory: { kind: 'rmt', tokens: 10 } },
    },
    {
      label: 'memory:infini',
      plugin: '@weft/memory-infini',
      requires: [['mixer', 'infini']],
      config: { mixer: { kind: 'infini', update: 'delta' } },
    },
    {
      label: 'memory:fam',
      plugin: '@weft/memory-fam',
      requires: [['mixer', 'fam']],
      config: { mixer: { kind: 'fam', memoryTokens: 16, window: 1 } },
    },
    {
      label: 'memory:block-recurrent',
      plugin: '@weft/memory-block-recurrent',
      requires: [['mixer', 'block-recurrent']],
      config: { mixer: { kind: 'block-recurrent' } },
    },
  ];
}
