/** The feedforward slot's conformance suite, and config-time errors. */
import { ConfigError, createRegistry, Rng } from '@weft/core';
import { feedForwardConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import moe, { MoEFeedForward } from '../src/index.js';

const make = (options: Record<string, unknown>) => () =>
  createRegistry().use(moe).create('feedforward', { kind: 'moe', ...options }, { dims: { dModel: 8, layers: 1 }, rng: new Rng(1) }) as MoEFeedForward;

// Without a capacity each token's routing depends only on itself: position-wise.
feedForwardConformance('moe (Mixtral top-2, no capacity)', make({ experts: 4, topK: 2, activation: 'swiglu' }), { dModel: 8, positionWise: true });
feedForwardConformance('moe (Switch top-1, no capacity)', make({ experts: 4, topK: 1 }), { dModel: 8, positionWise: true });
// With a capacity, which tokens are dropped depends on their order in the sequence.
feedForwardConformance('moe (Switch top-1, capacityFactor 1)', make({ experts: 4, topK: 1, capacityFactor: 1 }), { dModel: 8, positionWise: false });

describe('moe-ffn config errors', () => {
  const registry = createRegistry().use(standard, moe);
  const validate = (options: Record<string, unknown>) => () => registry.validate('feedforward', { kind: 'moe', ...options }, 'feedforward');

  it('validates its defaults (Switch top-1 of 8 experts, no capacity)', () => {
    expect(registry.validate('feedforward', { kind: 'moe' })).toMatchObject({ kind: 'moe', experts: 8, topK: 1, capacityFactor: null, activation: 'gelu', auxLossWeight: 0.01, zLossWeight: 0.001 });
  });

  it('names the field, the value and the fix', () => {
    expect(validate({ experts: 4, topK: 6 })).toThrow(ConfigError);
    expect(validate({ experts: 4, topK: 6 })).toThrow(/feedforward\.topK: topK \(6\) cannot exceed experts \(4\).*Lower topK or raise experts; got 6/);
    expect(validate({ experts: 0 })).toThrow(/feedforward\.experts: experts must be ≥ 1.*got 0/);
    expect(validate({ topK: 1.5 })).toThrow(/feedforward\.topK: topK must be an integer/);
    expect(validate({ capacityFactor: -1 })).toThrow(/feedforward\.capacityFactor: .*capacityFactor must be > 0/);
    expect(validate({ activation: 'geglu' })).toThrow(/feedforward\.activation: activation must be one of gelu, relu, silu, swiglu; got "geglu"/);
    expect(validate({ routerJitter: 1 })).toThrow(/feedforward\.routerJitter: routerJitter must be < 1/);
    expect(validate({ auxLossWeight: -0.1 })).toThrow(/feedforward\.auxLossWeight: auxLossWeight must be ≥ 0/);
    expect(validate({ topK: 1, renormalize: true })).toThrow(/feedforward\.renormalize: renormalize with topK 1 makes every gate 1/);
    expect(validate({ experts: 4, topk: 2 })).toThrow(/has no option "topk".*Did you mean "topK"/);
  });

  it('a model config with a bad layer entry fails before anything is built', () => {
    expect(() =>
      buildModel(registry, { vocab: 8, dModel: 8, layers: 2, heads: 2, layout: [null, { feedforward: { kind: 'moe', experts: 2, topK: 3 } }] }),
    ).toThrow(/layout\[1\]\.feedforward\.topK: topK \(3\) cannot exceed experts \(2\)/);
  });
});
