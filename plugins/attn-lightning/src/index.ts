/**
 * @weft/attn-lightning — Lightning Attention from TransNormerLLM (Qin et al. 2023, "Scaling
 * TransNormer to 175 Billion Parameters"): causal linear attention with per-head exponential
 * decay, computed in blocks (intra-block masked product + inter-block recurrent state), and
 * decoded from the kernel's own constant-size state (core's initState/attendStep contract).
 *
 * ```ts
 * import { createRegistry } from '@weft/core';
 * import { buildModel, standard } from '@weft/nn';
 * import lightning from '@weft/attn-lightning';
 * const model = buildModel(createRegistry().use(standard, lightning), {
 *   vocab: 256, dModel: 64, layers: 2, heads: 4, positional: { kind: 'none' },
 *   attention: { kind: 'lightning' },
 * });
 * ```
 */
import { attention, ConfigError, definePlugin, IncompatibleError, z } from '@weft/core';
import { transnormerLogDecay } from './decay.js';
import { LIGHTNING_CAPABILITIES, LightningAttention } from './lightning-attention.js';
import { VERSION } from './version.js';

export { LightningAttention, LIGHTNING_CAPABILITIES, lightningCausal, simpleRmsNorm, type LightningAttentionOptions } from './lightning-attention.js';
export { headSlopes, transnormerLogDecay } from './decay.js';
export { LightningState, lightningStateBytes } from './lightning-state.js';
export { VERSION } from './version.js';

export const LIGHTNING_PAPER = {
  title: 'Scaling TransNormer to 175 Billion Parameters',
  arxiv: '2307.14995',
  year: 2023,
  url: 'https://arxiv.org/abs/2307.14995',
};

export const lightningOptions = z.object({
  /** Block size B of Algorithm 1 (rows per intra-block product). */
  blockSize: z
    .number({ message: 'blockSize must be a positive integer such as 64' })
    .int({ message: 'blockSize must be a whole number of tokens (e.g. 64)' })
    .positive({ message: 'blockSize must be at least 1 (64 is a good default)' })
    .default(64),
  /**
   * Decay λ_h per query head, each in (0, 1]. Default: TransNormerLLM's schedule
   * λ_h = exp(−2^(−8h/H) · (1 − l/(N−1) + 1e−5)) for layer l of N.
   */
  decay: z
    .array(
      z
        .number()
        .gt(0, { message: 'each decay λ_h must be in (0, 1] (λ = 1 is no decay; TransNormerLLM uses exp(-2^(-8h/H)))' })
        .lte(1, { message: 'each decay λ_h must be in (0, 1]: λ > 1 makes old tokens grow without bound' }),
    )
    .min(1, { message: 'decay needs one λ per head (or leave it out for the TransNormerLLM schedule)' })
    .optional(),
  /** Feature map on q and k (TransNormerLLM: SiLU). 'identity' gives the bare Lightning op. */
  featureMap: z.enum(['silu', 'identity']).default('silu'),
  /** Output norm over each token's heads (TransNormerLLM's NormAttention: simple RMS norm). */
  normalize: z.enum(['srms', 'none']).default('srms'),
  normEps: z.number().positive({ message: 'normEps must be > 0; use 1e-6' }).default(1e-6),
});

export default definePlugin({
  name: '@weft/attn-lightning',
  version: VERSION,
  paper: LIGHTNING_PAPER,
  description: 'Lightning Attention: causal linear attention with per-head decay λ^(i−j), block-wise training, constant-memory decoding.',
  provides: [
    attention('lightning', {
      description: 'Lightning Attention (TransNormerLLM): o_i = Σ_{j≤i} λ_h^(i−j) (q_i·k_j) v_j in blocks, SiLU features and RMS-normed output by default.',
      options: lightningOptions,
      capabilities: LIGHTNING_CAPABILITIES,
      check: (_opts, env) => {
        if (!env.positional) return;
        const p = env.registry.capabilities('positional', env.positional);
        if (p.logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but lightning attention has no softmax logits to scale. ` +
              'Use a rotary or additive encoding (rope, sinusoidal, none) — the decay λ already encodes relative position.',
          );
        }
      },
      create: (opts, ctx) => {
        const heads = ctx.dims.heads;
        if (opts.decay && opts.decay.length !== heads) {
          throw new ConfigError(
            `${ctx.path}.decay`,
            `gives ${opts.decay.length} decay rates but the model has ${heads} heads; list one λ per head (e.g. [${Array.from({ length: heads }, (_, h) => (0.9 + (0.09 * h) / Math.max(1, heads - 1)).toFixed(3)).join(', ')}]) or leave it out`,
          );
        }
        const logDecay = opts.decay ? opts.decay.map(Math.log) : transnormerLogDecay(heads, ctx.layerIndex, ctx.dims.layers);
        return new LightningAttention({ blockSize: opts.blockSize, logDecay, featureMap: opts.featureMap, normalize: opts.normalize, normEps: opts.normEps });
      },
    }),
  ],
});
