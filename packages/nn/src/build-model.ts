/**
 * buildModel(registry, config) -> CausalLM | EncoderClassifier | EncoderDecoder.
 *
 * The whole config is validated first (resolveModelConfig): nothing is built, and no
 * parameter allocated, until every slot, layer and pairing checks out. The model is built in
 * a child container of the registry, so per-model state never leaks between models.
 */
import { Module, ModuleList, Rng, type Norm, type PositionalEncoding, type Registry, type TokenReducer } from '@weft/core';
import { resolveModelConfig, type ResolvedModelConfig } from './builder.js';
import { CausalLM } from './models/causal-lm.js';
import { CrossAttention, EncoderDecoder } from './models/encoder-decoder.js';
import { EncoderClassifier } from './models/encoder-classifier.js';
import { buildStack, contextFor, type StackBuild } from './stack.js';

export type WeftModel = CausalLM | EncoderClassifier | EncoderDecoder;

export function buildModel(registry: Registry, config: unknown): WeftModel {
  const resolved: ResolvedModelConfig = resolveModelConfig(registry, config);
  const rng = new Rng(resolved.config.seed);
  const container = registry.createScope();
  const top = (path: string) => contextFor({ registry, resolved, container, rng } as StackBuild, container, path, 0);
  const embedding = top('embedding').build('embedding', resolved.embedding, 'embedding');
  // A per-layer encoding (e.g. FIRE) is built by each attention layer; the model keeps none.
  const perLayer = Boolean(registry.capabilities('positional', resolved.positional).perLayer);
  const positional: PositionalEncoding = perLayer ? {} : top('positional').build('positional', resolved.positional, 'positional');
  const build: StackBuild = { registry, resolved, container, rng, positional };
  const positionalIsModule = Module.isModule(positional);
  const finalNorm = top('norm').build('norm', resolved.norm, 'norm');
  const task = resolved.config.task;

  const buildReducers = () =>
    resolved.reducers.map((r, i) => ({
      at: r.at,
      span: r.span,
      reducer: top(`reducers[${i}]`).build('reducer', r.reducer, `reducers[${i}].reducer`) as TokenReducer,
    }));
  if (task === 'classifier') {
    const blocks = buildStack(build, resolved.layers, 'layers');
    return new EncoderClassifier({ resolved, embedding, positional, positionalIsModule, blocks, finalNorm, reducers: buildReducers(), rng });
  }
  if (task === 'encoder-decoder') {
    const encoderBlocks = buildStack(build, resolved.encoderLayers, 'encoder');
    const decoderBlocks = buildStack(build, resolved.layers, 'layers', resolved.encoderLayers.length);
    const { dModel, heads, headDim } = resolved.dims;
    const crossAttention = new ModuleList<CrossAttention>();
    const crossNorms = new ModuleList<Module & Norm>();
    resolved.layers.forEach((_, i) => {
      const kernel = top(`cross[${i}]`).build('attention', resolved.layers[i].mixer.attention as never ?? { kind: 'dense' }, `layers[${i}].cross.attention`);
      crossAttention.push(new CrossAttention(dModel, heads, headDim, kernel, rng.fork(`cross[${i}]`)));
      crossNorms.push(top(`crossNorms[${i}]`).build('norm', resolved.layers[i].norm, `layers[${i}].crossNorm`) as Module & Norm);
    });
    const encoderNorm = top('encoderNorm').build('norm', resolved.norm, 'norm');
    return new EncoderDecoder({ resolved, embedding, positional, positionalIsModule, encoderBlocks, encoderNorm, decoderBlocks, crossAttention, crossNorms, finalNorm, rng });
  }
  const blocks = buildStack(build, resolved.layers, 'layers');
  const reducers = buildReducers();
  const memory = resolved.memory ? top('memory').build('memory', resolved.memory, 'memory') : undefined;
  return new CausalLM({ resolved, embedding, positional, positionalIsModule, blocks, finalNorm, reducers, memory, rng });
}
