/** Building a stack of residual blocks (and the shared pieces) from a resolved config. */
import { ModuleList, type CreateContext, type PositionalEncoding, type Registry, type Rng, type SlotConfig } from '@weft/core';
import type { DependencyContainer } from 'tsyringe';
import { TransformerBlock } from './block.js';
import type { ResolvedLayer, ResolvedModelConfig } from './builder.js';
import { POSITIONAL } from './tokens.js';

export interface StackBuild {
  registry: Registry;
  resolved: ResolvedModelConfig;
  container: DependencyContainer;
  rng: Rng;
  /** The model-level positional encoding (shared by layers that do not override it). */
  positional: PositionalEncoding;
}

export function contextFor(b: StackBuild, container: DependencyContainer, path: string, layerIndex: number): CreateContext {
  return b.registry.makeContext({ container, modelContainer: b.container, rng: b.rng.fork(path), dims: b.resolved.dims, layerIndex, path });
}

/** Build layers; `prefix` names the stack in paths (`layers`, `encoder`), `indexOffset` numbers layers model-wide. */
export function buildStack(b: StackBuild, layers: ResolvedLayer[], prefix: string, indexOffset = 0): ModuleList<TransformerBlock> {
  const blocks = new ModuleList<TransformerBlock>();
  layers.forEach((layer, i) => {
    const index = indexOffset + i;
    const path = `${prefix}[${i}]`;
    const layerContainer = b.container.createChildContainer();
    const perLayer = Boolean(b.registry.capabilities('positional', layer.positional).perLayer);
    const ownsPositional = perLayer || layer.positional !== b.resolved.positional;
    const encoding = ownsPositional
      ? contextFor(b, layerContainer, `${path}.positional`, index).build('positional', layer.positional, layer.paths.positional)
      : b.positional;
    layerContainer.register(POSITIONAL, { useValue: { encoding, config: layer.positional, owned: ownsPositional } });
    const ctx = contextFor(b, layerContainer, path, index);
    const build = <S extends 'norm' | 'feedforward' | 'mixer'>(slot: S, config: SlotConfig, name: string) =>
      b.registry.makeContext({ ...ctx, path: `${path}.${name}`, rng: b.rng.fork(`${path}.${name}`) }).build(slot, config, `${path}.${name}`);
    blocks.push(
      new TransformerBlock({
        norm1: build('norm', layer.norm, 'norm1'),
        mixer: build('mixer', layer.mixer, 'mixer'),
        norm2: layer.feedforward ? build('norm', layer.norm, 'norm2') : undefined,
        feedforward: layer.feedforward ? build('feedforward', layer.feedforward, 'feedforward') : undefined,
        postNorm: b.resolved.config.postNorm,
        dropout: b.resolved.config.dropout,
      }),
    );
  });
  return blocks;
}

