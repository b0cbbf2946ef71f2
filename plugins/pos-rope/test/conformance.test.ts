/** Core's positional conformance suite on cpu and wasm, for both layouts and partial rotary. */
import { DEFAULT_DIMS, createRegistry, tf } from '@weft/core';
import { describeWithBackends, expectConfigRoundTrip, positionalConformance } from '@weft/core/testing';
import rope from '../src/index.js';

describeWithBackends('pos-rope', () => {
  const registry = createRegistry().use(rope);
  const dims = { heads: 2, headDim: 8, dModel: 16 };
  for (const config of [{ kind: 'rope' }, { kind: 'rope', layout: 'half-split', fraction: 0.5 }]) {
    positionalConformance(JSON.stringify(config), () => registry.create('positional', config, { dims: { ...DEFAULT_DIMS, ...dims } }), dims);
  }
  it('config round-trips with defaults filled in', () => {
    expectConfigRoundTrip(registry, 'positional', { kind: 'rope' });
    expect(registry.validate('positional', { kind: 'rope' })).toEqual({ kind: 'rope', base: 10000, fraction: 1, layout: 'interleaved' });
  });
  it('declares the rotate hook only', () => {
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 'rope' }))).toEqual({ embed: false, rotate: true, bias: false });
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
