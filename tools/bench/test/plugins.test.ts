import { benchPluginNames, benchRegistry, benchVariants } from '../src/plugins.js';
import { attention, definePlugin, mixer } from '@weft/core';
import { DenseAttention } from '@weft/nn';

describe('benchmark plugins', () => {
  it("are this package's attn-* and mixer-* dependencies", () => {
    const pkg = JSON.stringify({
      dependencies: {
        '@weft/core': '*',
        '@weft/mixer-x': '*',
        '@weft/attn-y': '*',
        '@weft/pos-rope': '*',
      },
    });
    expect(benchPluginNames(pkg)).toEqual(['@weft/attn-y', '@weft/mixer-x']);
  });

  it('records a plugin that fails to load and keeps the others', async () => {
    const good = definePlugin({
      name: '@weft/attn-good',
      version: '0.0.1',
      provides: [attention('good', { create: () => new DenseAttention() })],
    });
    const importer = async (name: string) => {
      if (name === '@weft/attn-good') return { default: good };
      throw new Error(`Cannot find module '${name}'`);
    };
    const { registry, plugins } = await benchRegistry(
      ['@weft/attn-good', '@weft/attn-missing'],
      importer,
    );
    expect(registry.kinds('attention')).toEqual(expect.arrayContaining(['dense', 'good']));
    expect(plugins.map((p) => [p.name, p.status])).toEqual([
      ['@weft/nn', 'loaded'],
      ['@weft/attn-good', 'loaded'],
      ['@weft/attn-missing', 'failed'],
    ]);
    expect(plugins[2].note).toMatch(/Cannot find module/);
  });

  it('skips bidirectional-only kernels with a reason (the benchmarks are causal)', async () => {
    const caps = {
      causal: false,
      bidirectional: true,
      bias: false,
      padding: false,
      segments: false,
      decode: false,
      weights: false,
    };
    const bidir = definePlugin({
      name: '@weft/attn-bidir',
      version: '0.0.1',
      provides: [attention('bidir', { capabilities: caps, create: () => new DenseAttention() })],
    });
    const { registry } = await benchRegistry(['@weft/attn-bidir'], async () => ({
      default: bidir,
    }));
    const variants = benchVariants(registry, ['dense', 'bidir']);
    expect(variants.map((v) => [v.kind, v.skip === undefined])).toEqual([
      ['dense', true],
      ['bidir', false],
    ]);
    expect(variants[1].skip).toMatch(/bidirectional-only/);
  });

  it('marks a bidirectional-only mixer as skipped for causal models (the kernel sweep still runs it)', async () => {
    const fourierLike = definePlugin({
      name: '@weft/mixer-bidir',
      version: '0.0.1',
      provides: [
        mixer('bidir-mix', {
          capabilities: {
            causal: false,
            bidirectional: true,
            decode: false,
            segments: false,
            padding: false,
          },
          create: () => {
            throw new Error('not built in this test');
          },
        }),
      ],
    });
    const { registry } = await benchRegistry(['@weft/mixer-bidir'], async () => ({
      default: fourierLike,
    }));
    const [variant] = benchVariants(registry, ['bidir-mix']);
    expect(variant).toMatchObject({ slot: 'mixer', kind: 'bidir-mix', bidirectional: true });
    expect(variant.skip).toMatch(/bidirectional-only mixer/);
  });
});
