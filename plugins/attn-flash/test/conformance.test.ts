/** Core's attention-kernel conformance suite, for both implementations, on cpu and wasm. */
import { createRegistry, type AttentionKernel } from '@weft/core';
import { attentionKernelConformance, describeWithBackends } from '@weft/core/testing';
import flash from '../src/index.js';

describeWithBackends('attn-flash', () => {
  const registry = createRegistry().use(flash);
  attentionKernelConformance('flash', () => registry.create('attention', { kind: 'flash', blockQ: 4, blockK: 4 }), { exact: true });
  for (const implementation of ['tiled', 'fused']) {
    attentionKernelConformance(
      `flash (${implementation})`,
      () => registry.create('attention', { kind: 'flash', blockQ: 4, blockK: 4, implementation }) as AttentionKernel,
      { exact: true },
    );
  }
});
