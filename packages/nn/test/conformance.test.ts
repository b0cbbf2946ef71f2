import { createRegistry } from '@weft/core';
import { expectConfigRoundTrip, feedForwardConformance, headLayoutConformance, kvCacheConformance, normConformance, positionalConformance } from '@weft/core/testing';
import { standard } from '@weft/nn';

const registry = createRegistry().use(standard);
const dims = { dModel: 16, heads: 4, headDim: 4, layers: 2 };

headLayoutConformance('mha', () => registry.create('heads', 'mha', { dims }), { dModel: 16 });
feedForwardConformance('mlp', () => registry.create('feedforward', 'mlp', { dims }), { dModel: 16 });
feedForwardConformance('swiglu', () => registry.create('feedforward', 'swiglu', { dims }), { dModel: 16 });
normConformance('layernorm', () => registry.create('norm', 'layernorm', { dims }), { dModel: 16 });
normConformance('rmsnorm', () => registry.create('norm', 'rmsnorm', { dims }), { dModel: 16 });
kvCacheConformance('full', () => registry.create('kvCache', 'full'), { lossy: false });
for (const kind of ['sinusoidal', 'learned', 'none']) {
  positionalConformance(kind, () => registry.create('positional', kind, { dims }), { heads: 4, headDim: 4, dModel: 16 });
}

test('every standard config round-trips through validation', () => {
  for (const entry of registry.list()) expectConfigRoundTrip(registry, entry.slot, { kind: entry.kind });
});
