/**
 * buildModel(registry, config): validate the whole config (every slot, every layer, every
 * pairing) before building anything, then build the model in its own child container.
 */
import { ConfigError, IncompatibleError, Rng, type ModelDims, type Registry, type SlotConfig, type SlotName } from '@weft/core';
import { parseModelConfig, type ModelConfig, type SlotInput } from './config.js';
import type { CausalLM } from './models/causal-lm.js';

export interface ResolvedLayer {
  mixer: SlotConfig;
  feedforward: SlotConfig | null;
  norm: SlotConfig;
  positional: SlotConfig;
  /** JSON paths the configs came from (for messages). */
  paths: { mixer: string; positional: string };
}

export interface ResolvedModelConfig {
  config: ModelConfig;
  dims: ModelDims;
  embedding: SlotConfig;
  positional: SlotConfig;
  norm: SlotConfig;
  layers: ResolvedLayer[];
  /** Encoder stack of an encoder-decoder model. */
  encoderLayers: ResolvedLayer[];
  reducers: Array<{ at: number; span: number; reducer: SlotConfig }>;
  memory?: SlotConfig;
}

/** Where a nested slot field without a value takes its default from. */
const NESTED_DEFAULTS: Partial<Record<SlotName, 'attention' | 'headLayout' | 'kvCache'>> = {
  attention: 'attention',
  heads: 'headLayout',
  kvCache: 'kvCache',
};

function resolveLayer(registry: Registry, config: ModelConfig, i: number, causal: boolean, modelPositional: SlotConfig, stack: string): ResolvedLayer {
  const override = config.layout?.[i] ?? {};
  const at = (field: string) => (field in override ? `${stack}[${i}].${field}` : field);
  const mixerInput = (override.mixer ?? config.mixer) as SlotInput;
  const mixerRaw: Record<string, unknown> = typeof mixerInput === 'string' ? { kind: mixerInput } : { ...mixerInput };
  let nestedFromLayer = false;
  if (typeof mixerRaw.kind === 'string' && registry.has('mixer', mixerRaw.kind)) {
    for (const [field, nestedSlot] of Object.entries(registry.provider('mixer', mixerRaw.kind).nested)) {
      const source = NESTED_DEFAULTS[nestedSlot];
      if (mixerRaw[field] === undefined && source) {
        mixerRaw[field] = override[source] ?? config[source];
        nestedFromLayer ||= override[source] !== undefined;
      }
    }
  }
  const mixerPath = at('mixer');
  const mixer = registry.validate('mixer', mixerRaw, mixerPath);
  // Pairing errors point at the layer entry when the clashing piece came from it.
  const checkPath = nestedFromLayer && !('mixer' in override) ? `${stack}[${i}]` : mixerPath;
  const ffInput = override.feedforward !== undefined ? override.feedforward : config.feedforward;
  const feedforward = ffInput === null ? null : registry.validate('feedforward', ffInput, at('feedforward'));
  if (feedforward) registry.check('feedforward', feedforward, { path: at('feedforward'), causal });
  const norm = registry.validate('norm', override.norm ?? config.norm, at('norm'));
  const positionalPath = at('positional');
  const positional = override.positional ? registry.validate('positional', override.positional, positionalPath) : modelPositional;
  registry.check('positional', positional, { path: positionalPath, causal });
  registry.check('mixer', mixer, { path: checkPath, causal, positional });
  // Generic mixer pairing, after the provider's own more specific check: a causal model needs a causal
  // mixer, an encoder a bidirectional one. Undeclared capabilities are not held against a mixer.
  const mixerCaps = registry.capabilities('mixer', mixer);
  if (causal && mixerCaps.causal === false) {
    throw new IncompatibleError(`${mixerPath}: mixer "${mixer.kind}" is not causal (it mixes in future tokens), but this model is causal. Use it in an encoder (task "classifier") or pick a causal mixer.`);
  }
  if (!causal && mixerCaps.bidirectional === false) {
    throw new IncompatibleError(`${mixerPath}: mixer "${mixer.kind}" is causal-only, but this model is bidirectional. Use a bidirectional mixer or a causal model.`);
  }
  return { mixer, feedforward, norm, positional, paths: { mixer: mixerPath, positional: positionalPath } };
}

/** Validate a model config completely. Throws ConfigError / UnknownKindError / IncompatibleError. */
export function resolveModelConfig(registry: Registry, input: unknown): ResolvedModelConfig {
  const config = parseModelConfig(input);
  const dims: ModelDims = {
    vocab: config.vocab,
    dModel: config.dModel,
    heads: config.heads,
    headDim: config.headDim ?? config.dModel / config.heads,
    layers: config.layers + (config.encoderLayers ?? 0),
    maxLen: config.maxLen,
  };
  const embedding = registry.validate('embedding', config.embedding, 'embedding');
  const positional = registry.validate('positional', config.positional, 'positional');
  const norm = registry.validate('norm', config.norm, 'norm');
  const causal = config.task !== 'classifier';
  const layers = Array.from({ length: config.layers }, (_, i) => resolveLayer(registry, config, i, causal, positional, 'layout'));
  let encoderLayers: ResolvedLayer[] = [];
  if (config.task === 'encoder-decoder') {
    if (!config.encoderLayers) throw new ConfigError('encoderLayers', 'an encoder-decoder model needs "encoderLayers" (the encoder depth)');
    const encoderConfig = { ...config, layout: undefined };
    encoderLayers = Array.from({ length: config.encoderLayers }, (_, i) => resolveLayer(registry, encoderConfig, i, false, positional, 'encoder'));
  }
  const reducers = config.reducers.map((r, i) => ({ at: r.at, span: r.span, reducer: registry.validate('reducer', r.reducer, `reducers[${i}].reducer`) }));
  for (const [i, r] of reducers.entries()) {
    if (causal && !registry.capabilities('reducer', r.reducer).causal) {
      throw new ConfigError(`reducers[${i}].reducer`, `reducer "${r.reducer.kind}" is not causal, but this model is; it would leak future tokens. Use a causal reducer or a bidirectional model.`);
    }
  }
  const memory = config.memory === undefined ? undefined : registry.validate('memory', config.memory, 'memory');
  if (memory && causal && !registry.capabilities('memory', memory).causal) {
    throw new ConfigError('memory', `segment memory "${memory.kind}" is not causal, but this model is; use a causal memory or a bidirectional model.`);
  }
  return { config, dims, embedding, positional, norm, layers, encoderLayers, reducers, memory };
}

export type WeftModel = CausalLM;

export { Rng };
