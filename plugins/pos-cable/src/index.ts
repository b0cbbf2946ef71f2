/**
 * @weft/pos-cable — CABLE, context-aware biases for length extrapolation (Veisi & Mansourian
 * 2025, arXiv 2503.08067): a learned, token-dependent generalisation of ALiBi.
 *
 *   import cable from '@weft/pos-cable';
 *   buildModel(createRegistry().use(standard, cable), { ..., positional: { kind: 'cable' } });
 */
import { IncompatibleError, definePlugin, positional, z } from '@weft/core';
import { CableBias } from './cable.js';
import { VERSION } from './version.js';

export { CableBias } from './cable.js';
export { VERSION } from './version.js';

export const CABLE_PAPER = { title: 'Context-aware Biases for Length Extrapolation', arxiv: '2503.08067', year: 2025, url: 'https://arxiv.org/abs/2503.08067' };

export const cable = positional('cable', {
  description: 'CABLE: per-layer learned bias b_i − b_j, b_t = −Σ_{u≤t} softplus(W x_u + c) per head, added to causal logits.',
  options: z.object({}),
  capabilities: { embed: false, rotate: false, bias: true, perLayer: true },
  check: (_opts, env) => {
    if (!env.causal) {
      throw new IncompatibleError(`${env.path}: CABLE is defined for causal (decoder) attention: its bias b_i − b_j is only ≤ 0 for keys j ≤ i. Use it in a causal model, or use a symmetric bias such as { "kind": "alibi" } in a bidirectional one.`);
    }
  },
  create: (_opts, ctx) => new CableBias(ctx.dims.dModel, ctx.dims.heads, ctx.rng),
});

export default definePlugin({
  name: '@weft/pos-cable',
  version: VERSION,
  paper: CABLE_PAPER,
  description: 'CABLE: context-aware, learned per-token ALiBi-like attention biases (one small linear map per layer).',
  provides: [cable],
});
