/**
 * @weft/attn-taylorshift — TaylorShift (Nauen et al. 2024, arXiv 2403.02920): softmax replaced
 * by its normalised 2nd-order Taylor expansion, computed directly or in linear time through
 * the features [1, x, x⊗x/√2], switching at the crossover length N0 = d² + d + 1.
 */
import { attention, definePlugin, IncompatibleError, z } from '@weft/core';
import { TAYLORSHIFT_CAPABILITIES, TaylorShiftAttention } from './taylorshift.js';
import { VERSION } from './version.js';

export { DEFAULT_CHUNK, featureWidth, TaylorShiftAttention, TAYLORSHIFT_CAPABILITIES, taylorDirect, taylorEfficient, taylorFeatures, taylorStep, type TaylorShiftSettings } from './taylorshift.js';
export { TaylorShiftState, taylorShiftStateBytes } from './taylorshift-state.js';
export { VERSION } from './version.js';

export const TAYLORSHIFT_PAPER = {
  title: 'TaylorShift: Shifting the Complexity of Self-Attention from Squared to Linear (and Back) using Taylor-Softmax',
  arxiv: '2403.02920',
  year: 2024,
  url: 'https://arxiv.org/abs/2403.02920',
};

export const taylorShiftOptions = z.object({
  /** Unit-normalise q and k and learn a per-head temperature (the reference default). */
  normalizeInput: z.boolean({ message: 'normalizeInput must be true or false' }).default(true),
  /** N0: use the efficient form when the length exceeds it (default d² + d + 1); 0 = always efficient. */
  crossover: z
    .number({ message: 'crossover must be a whole number of tokens (N0); leave it out for d² + d + 1' })
    .int({ message: 'crossover must be a whole number of tokens (N0); leave it out for d² + d + 1' })
    .nonnegative({ message: 'crossover must be ≥ 0 (0 = always the efficient form); leave it out for d² + d + 1' })
    .optional(),
  /** Tokens per chunk of the efficient form (default 256): peak memory O(chunk·F + F·dv) per head; the result does not depend on it. */
  chunk: z
    .number({ message: 'chunk must be a whole number of tokens ≥ 1 (default 256)' })
    .int({ message: 'chunk must be a whole number of tokens ≥ 1 (default 256)' })
    .positive({ message: 'chunk must be a whole number of tokens ≥ 1 (default 256)' })
    .optional(),
});

export default definePlugin({
  name: '@weft/attn-taylorshift',
  version: VERSION,
  paper: TAYLORSHIFT_PAPER,
  description: 'TaylorShift: Taylor-Softmax (1 + x + x²/2, normalised) attention, direct O(N²d) or efficient O(N·d³), causal and bidirectional.',
  provides: [
    attention('taylorshift', {
      description: 'TaylorShift attention (Nauen 2024): normalised 1 + x + x²/2 in place of exp, direct below the crossover N0 = d² + d + 1 and through the features [1, x, x⊗x/√2] above it; unit-normalised q, k with a learned per-head temperature.',
      options: taylorShiftOptions,
      capabilities: TAYLORSHIFT_CAPABILITIES,
      check: (opts, env) => {
        if (!opts.normalizeInput || !env.positional) return;
        if (env.registry.capabilities('positional', env.positional).logitScale) {
          throw new IncompatibleError(
            `${env.path}: positional encoding "${env.positional.kind}" rescales attention logits, but taylorshift with normalizeInput: true replaces the logit scale by its own learned temperature. Set normalizeInput: false, or use an additive or rotary encoding (sinusoidal, learned, rope, none).`,
          );
        }
      },
      create: (opts, ctx) => new TaylorShiftAttention(opts, ctx.dims.heads, ctx.rng),
    }),
  ],
});
