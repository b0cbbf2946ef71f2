/**
 * `standard`: the vanilla Transformer's pieces as one plugin — the baseline every other
 * plugin is measured against. Registered like any other plugin: `registry.use(standard)`.
 */
import {
  attention,
  definePlugin,
  embedding,
  feedforward,
  heads,
  IncompatibleError,
  kvCache,
  mixer,
  norm,
  positional,
  slotRef,
  z,
  type SlotConfig,
} from '@weft/core';
import { POSITIONAL } from '../tokens.js';
import { VERSION } from '../version.js';
import { AttentionMixer } from './attention-mixer.js';
import { DenseAttention } from './dense-attention.js';
import { LearnedEmbedding } from './embedding.js';
import { MLP, SwiGLU } from './feedforward.js';
import { fullKVCacheFactory } from './full-kv-cache.js';
import { MultiHeadLayout } from './mha.js';
import { LayerNorm, RMSNorm } from './norms.js';
import { LearnedPositionalEmbedding, NoPositionalEncoding, SinusoidalEncoding } from './positional.js';

/** GPT-2's residual-branch init: output projections get std 0.02 / sqrt(2 · layers). */
const residualStd = (layers: number) => 0.02 / Math.sqrt(2 * layers);

const attentionMixer = mixer('attention', {
  description: 'Self-attention sublayer: head layout + positional hooks + attention kernel, with a KV cache for decoding.',
  options: z.object({
    attention: slotRef('attention', { kind: 'dense' }),
    headLayout: slotRef('heads', { kind: 'mha' }),
    kvCache: slotRef('kvCache', { kind: 'full' }),
  }),
  nested: { attention: 'attention', headLayout: 'heads', kvCache: 'kvCache' },
  capabilities: (opts, registry) => {
    const k = registry.capabilities('attention', opts.attention as SlotConfig);
    return { causal: k.causal, bidirectional: k.bidirectional, decode: k.decode, segments: k.segments, padding: k.padding };
  },
  check: (opts, env) => {
    const kernelConfig = opts.attention as SlotConfig;
    const k = env.registry.capabilities('attention', kernelConfig);
    const where = `${env.path}.attention`;
    if (env.causal && !k.causal) {
      throw new IncompatibleError(`${where}: attention kernel "${kernelConfig.kind}" cannot do causal attention, but this model is causal. Use a causal kernel (dense, flash) or a bidirectional model.`);
    }
    if (!env.causal && !k.bidirectional) {
      throw new IncompatibleError(`${where}: attention kernel "${kernelConfig.kind}" is causal-only, but this model is bidirectional. Use a bidirectional kernel (dense, flash).`);
    }
    if (env.positional) {
      const p = env.registry.capabilities('positional', env.positional);
      if (p.bias && !k.bias) {
        throw new IncompatibleError(
          `${where}: positional encoding "${env.positional.kind}" adds a logit bias, but attention kernel "${kernelConfig.kind}" cannot apply one. ` +
            'Use a kernel that supports a bias (dense, flash) or a rotary/additive encoding (rope, sinusoidal, none).',
        );
      }
    }
    const cacheConfig = opts.kvCache as SlotConfig;
    if (k.state && cacheConfig.kind !== 'full') {
      throw new IncompatibleError(`${env.path}.kvCache: attention kernel "${kernelConfig.kind}" decodes from its own fixed-size state, so cache policy "${cacheConfig.kind}" would be ignored. Remove "kvCache" (or set it to "full").`);
    }
    if (!k.decode && cacheConfig.kind !== 'full') {
      throw new IncompatibleError(`${env.path}.kvCache: attention kernel "${kernelConfig.kind}" cannot decode from a KV cache, so cache policy "${cacheConfig.kind}" has nothing to act on. Remove "kvCache" or use a kernel that decodes (dense, flash).`);
    }
    env.registry.check('attention', kernelConfig, { ...env, path: where });
  },
  create: (opts, ctx) => {
    const positional = ctx.container.isRegistered(POSITIONAL, true) ? ctx.container.resolve(POSITIONAL) : undefined;
    const headLayout = ctx.build('heads', opts.headLayout as SlotConfig, `${ctx.path}.headLayout`);
    return new AttentionMixer({
      heads: headLayout,
      kernel: ctx.build('attention', opts.attention as SlotConfig, `${ctx.path}.attention`),
      positional: positional?.encoding,
      ownsPositional: positional?.owned ?? false,
      kvCache: ctx.build('kvCache', opts.kvCache as SlotConfig, `${ctx.path}.kvCache`),
      layerIndex: ctx.layerIndex,
    });
  },
});

export const standard = definePlugin({
  name: '@weft/nn',
  version: VERSION,
  paper: { title: 'Attention Is All You Need', arxiv: '1706.03762', year: 2017 },
  description: 'The vanilla Transformer: learned embeddings, sinusoidal/learned positions, dense softmax attention, MHA, MLP/SwiGLU, LayerNorm/RMSNorm.',
  provides: [
    embedding('learned', {
      description: 'Learned token embedding table (tied to the output projection unless tieEmbeddings is false).',
      options: z.object({ std: z.number().positive().default(0.02) }),
      capabilities: { tied: true },
      create: (opts, ctx) => new LearnedEmbedding(ctx.dims.vocab, ctx.dims.dModel, ctx.rng, opts.std),
    }),
    positional('sinusoidal', {
      description: 'Fixed sin/cos table added to the embeddings (interleaved: sin at even dims), scaled by D^-1/2 by default.',
      options: z.object({
        base: z.number().positive().default(10000),
        scale: z.union([z.literal('auto'), z.number().positive()]).default('auto'),
      }),
      capabilities: { embed: true, rotate: false, bias: false },
      create: (opts, ctx) => new SinusoidalEncoding(ctx.dims.dModel, opts.base, opts.scale === 'auto' ? 1 / Math.sqrt(ctx.dims.dModel) : opts.scale),
    }),
    positional('learned', {
      description: 'Trained absolute position table [maxLen, D] added to the embeddings (GPT-2).',
      capabilities: { embed: true, rotate: false, bias: false },
      create: (_opts, ctx) => new LearnedPositionalEmbedding(ctx.dims.maxLen, ctx.dims.dModel, ctx.rng),
    }),
    positional('none', {
      description: 'No positional encoding.',
      capabilities: { embed: true, rotate: false, bias: false },
      create: () => new NoPositionalEncoding(),
    }),
    attention('dense', {
      description: 'Exact softmax attention materialising the Lq×Lk score matrix.',
      capabilities: { causal: true, bidirectional: true, bias: true, padding: true, segments: true, decode: true, weights: true },
      create: () => new DenseAttention(),
    }),
    heads('mha', {
      description: 'Multi-head attention projections: H query, key and value heads of width Dh.',
      options: z.object({ bias: z.boolean().default(false) }),
      capabilities: { decode: true },
      create: (opts, ctx) => new MultiHeadLayout(ctx.dims.dModel, ctx.dims.heads, ctx.dims.headDim, ctx.rng, { bias: opts.bias, outStd: residualStd(ctx.dims.layers) }),
    }),
    kvCache('full', {
      description: 'Keeps every key and value: exact decoding, memory linear in context.',
      capabilities: { lossy: false },
      create: () => fullKVCacheFactory,
    }),
    attentionMixer,
    feedforward('mlp', {
      description: 'Two-layer MLP: W2 act(W1 x + b1) + b2.',
      options: z.object({ activation: z.enum(['gelu', 'relu', 'silu']).default('gelu'), mult: z.number().positive().default(4) }),
      capabilities: { auxLoss: false },
      create: (opts, ctx) => new MLP(ctx.dims.dModel, Math.round(opts.mult * ctx.dims.dModel), opts.activation, ctx.rng, residualStd(ctx.dims.layers)),
    }),
    feedforward('swiglu', {
      description: 'SwiGLU: W2 (silu(W1 x) ⊙ W3 x), hidden = mult·D (default 8/3).',
      options: z.object({ mult: z.number().positive().default(8 / 3) }),
      capabilities: { auxLoss: false },
      create: (opts, ctx) => new SwiGLU(ctx.dims.dModel, Math.round(opts.mult * ctx.dims.dModel), ctx.rng, residualStd(ctx.dims.layers)),
    }),
    norm('layernorm', {
      options: z.object({ eps: z.number().positive().default(1e-5) }),
      create: (opts, ctx) => new LayerNorm(ctx.dims.dModel, ctx.rng, opts.eps),
    }),
    norm('rmsnorm', {
      options: z.object({ eps: z.number().positive().default(1e-6) }),
      create: (opts, ctx) => new RMSNorm(ctx.dims.dModel, ctx.rng, opts.eps),
    }),
  ],
});
