/**
 * @weft/attn-nystrom — Nyströmformer (Xiong et al. 2021, arXiv 2102.03902): softmax attention
 * approximated through m segment-mean landmarks and an iterative pseudo-inverse, O(n·m),
 * bidirectional, with the reference code's optional depthwise-conv skip on V.
 */
import { attention, definePlugin, z } from '@weft/core';
import { NYSTROM_CAPABILITIES, NystromAttention } from './nystrom.js';
import { VERSION } from './version.js';

export { NystromAttention, NYSTROM_CAPABILITIES, nystromAttention, segmentMeans, type NystromSettings } from './nystrom.js';
export { iterativePinv, type PinvInit } from './iterative-pinv.js';
export { DepthwiseConvSkip, depthwiseSequenceConv } from './conv-skip.js';
export { VERSION } from './version.js';

export const NYSTROM_PAPER = {
  title: 'Nyströmformer: A Nyström-Based Algorithm for Approximating Self-Attention',
  arxiv: '2102.03902',
  year: 2021,
  url: 'https://arxiv.org/abs/2102.03902',
};

const int = (field: string, example: string) =>
  z
    .number({ message: `${field} must be a positive integer such as ${example}` })
    .int({ message: `${field} must be a whole number (e.g. ${example})` })
    .positive({ message: `${field} must be at least 1 (e.g. ${example})` });

export const nystromOptions = z.object({
  /** m, the number of landmarks (the paper uses 32 or 64); the input length must be a multiple of it. */
  landmarks: int('landmarks', '64').default(64),
  /** Newton-Schulz-type iterations of the pseudo-inverse (eq. 16); the reference uses 6. */
  pinvIterations: int('pinvIterations', '6').default(6),
  /** Z₀ scaling: 'original' (max column-sum over the whole batch, the reference default) or 'exact' (per matrix). */
  pinvInit: z.enum(['original', 'exact'], { message: 'pinvInit must be "original" (reference default) or "exact"' }).default('original'),
  /** Kernel size of the depthwise-conv skip on V (reference `conv_kernel_size`, e.g. 33); leave out for none. */
  convKernelSize: int('convKernelSize', '33')
    .refine((x) => x % 2 === 1, { message: 'convKernelSize must be odd (the output keeps the length only for odd sizes with padding ⌊ks/2⌋); use e.g. 33' })
    .optional(),
});

export default definePlugin({
  name: '@weft/attn-nystrom',
  version: VERSION,
  paper: NYSTROM_PAPER,
  description: 'Nyström attention softmax(QK̃ᵀ)·softmax(Q̃K̃ᵀ)⁺·softmax(Q̃Kᵀ)V with segment-mean landmarks: O(n·m), bidirectional.',
  provides: [
    attention('nystrom', {
      description: 'Nyströmformer attention (Xiong 2021, eq. 15): m segment-mean landmarks, 6-iteration pseudo-inverse, Q and K scaled d^-1/4 each, optional depthwise-conv skip on V; bidirectional only.',
      options: nystromOptions,
      capabilities: NYSTROM_CAPABILITIES,
      create: (opts, ctx) => new NystromAttention(opts, ctx.dims.heads, ctx.rng),
    }),
  ],
});
