/**
 * @weft/attn-galerkin — Galerkin and Fourier attention (Cao 2021, "Choose a Transformer:
 * Fourier or Galerkin", arXiv 2105.14995): softmax-free, length-normalised, bidirectional
 * attention with per-head layer norms, computed in O(n·d²).
 */
import { attention, definePlugin, IncompatibleError, z, type CompatibilityEnv } from '@weft/core';
import { GALERKIN_CAPABILITIES, GalerkinAttention } from './galerkin-attention.js';
import { VERSION } from './version.js';

export { GalerkinAttention, GALERKIN_CAPABILITIES, galerkinAttention, headLayerNorm, type GalerkinVariant } from './galerkin-attention.js';
export { VERSION } from './version.js';

export const GALERKIN_PAPER = {
  title: 'Choose a Transformer: Fourier or Galerkin',
  arxiv: '2105.14995',
  year: 2021,
  url: 'https://arxiv.org/abs/2105.14995',
};

const eps = z.number().positive({ message: 'eps must be > 0 (layer-norm variance floor); use 1e-5 (nn.LayerNorm default)' }).default(1e-5);

const logitScaleCheck = (kind: string) => (_opts: unknown, env: CompatibilityEnv) => {
  if (!env.positional) return;
  if (env.registry.capabilities('positional', env.positional).logitScale) {
    throw new IncompatibleError(
      `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but ${kind} attention has no softmax logits to scale. Use an additive or rotary encoding (sinusoidal, learned, rope, none).`,
    );
  }
};

export default definePlugin({
  name: '@weft/attn-galerkin',
  version: VERSION,
  paper: GALERKIN_PAPER,
  description: 'Galerkin z = Q(LN(K)ᵀLN(V))/n and Fourier z = (LN(Q)LN(K)ᵀ)V/n attention: softmax-free, bidirectional, O(n·d²).',
  provides: [
    attention('galerkin', {
      description: 'Galerkin-type attention (Cao 2021, eq. 2.4): z = Q (LN(K)ᵀ LN(V)) / n, per-head learned layer norms, no softmax, bidirectional.',
      options: z.object({ eps }),
      capabilities: GALERKIN_CAPABILITIES,
      check: logitScaleCheck('galerkin'),
      create: (opts, ctx) => new GalerkinAttention('galerkin', ctx.dims.heads, ctx.dims.headDim, opts.eps, ctx.rng),
    }),
    attention('fourier', {
      description: 'Fourier-type attention (Cao 2021, eq. 2.3): z = (LN(Q) LN(K)ᵀ) V / n, computed as LN(Q)(LN(K)ᵀV)/n; per-head learned layer norms, no softmax, bidirectional.',
      options: z.object({ eps }),
      capabilities: GALERKIN_CAPABILITIES,
      check: logitScaleCheck('fourier'),
      create: (opts, ctx) => new GalerkinAttention('fourier', ctx.dims.heads, ctx.dims.headDim, opts.eps, ctx.rng),
    }),
  ],
});
