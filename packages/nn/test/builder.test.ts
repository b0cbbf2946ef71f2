import { attention, ConfigError, createRegistry, useBackend, definePlugin, IncompatibleError, positional, UnknownKindError, tf, z } from '@weft/core';
import { buildModel, resolveModelConfig, standard, CausalLM, VERSION } from '@weft/nn';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Test-only plugins: a kernel that cannot take a logit bias and a bias-style encoding.
const testPlugin = definePlugin({
  name: '@weft/test-fixtures',
  version: '0.0.1',
  paper: { title: 'Test fixtures', year: 2026 },
  provides: [
    attention('nobias', {
      capabilities: { causal: true, bidirectional: true, bias: false, padding: false, segments: false, decode: false, weights: false },
      create: () => ({ attend: (q: tf.Tensor) => q, supports: {} as never }),
    }),
    attention('encoder-only', {
      capabilities: { causal: false, bidirectional: true, bias: true, padding: true, segments: false, decode: false, weights: false },
      create: () => ({ attend: (q: tf.Tensor) => q, supports: {} as never }),
    }),
    positional('slope', {
      options: z.object({ slope: z.number().default(0.5) }),
      capabilities: { embed: false, rotate: false, bias: true },
      create: () => ({ bias: () => tf.zeros([1, 1, 1, 1]) }),
    }),
  ],
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

const base = { vocab: 16, dModel: 16, layers: 2, heads: 2 };

describe('model config validation', () => {
  beforeAll(() => useBackend('cpu'));
  const registry = createRegistry().use(standard, testPlugin);

  it('fills defaults for every layer', () => {
    const r = resolveModelConfig(registry, base);
    expect(r.layers).toHaveLength(2);
    expect(r.layers[0].mixer).toEqual({
      kind: 'attention',
      attention: { kind: 'dense' },
      headLayout: { kind: 'mha', bias: false },
      kvCache: { kind: 'full' },
    });
    expect(r.layers[1].feedforward).toEqual({ kind: 'mlp', activation: 'gelu', mult: 4 });
    expect(r.dims.headDim).toBe(8);
  });

  it('reports an unknown kind with the path and the nearest name', () => {
    const e = message(() => resolveModelConfig(registry, { ...base, positional: { kind: 'sinusodal' } }));
    expect(e).toBe('positional.kind: No positional kind "sinusodal" (installed: sinusoidal, learned, none, slope). Did you mean "sinusoidal"?');
  });

  it('names the package for a known kind that is not installed', () => {
    const e = message(() => resolveModelConfig(registry, { ...base, mixer: { kind: 'mamba' } }));
    expect(e).toContain('mixer.kind: No mixer kind "mamba"');
    expect(e).toContain('@weft/mixer-mamba');
  });

  it('refuses a bias encoding with a kernel that cannot apply a bias, saying what to change', () => {
    let err: unknown;
    try {
      buildModel(registry, { ...base, positional: { kind: 'slope' }, attention: { kind: 'nobias' } });
    } catch (e) {
      err = e;
    }
    expect(IncompatibleError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(
      'mixer.attention: positional encoding "slope" adds a logit bias, but attention kernel "nobias" cannot apply one. ' +
        'Use a kernel that supports a bias (dense, flash) or a rotary/additive encoding (rope, sinusoidal, none).',
    );
  });

  it('refuses a bidirectional-only kernel in a causal model, naming the layer', () => {
    const e = message(() => resolveModelConfig(registry, { ...base, layout: [null, { attention: { kind: 'encoder-only' } }] }));
    expect(e).toMatch(/^layout\[1\]\.attention: attention kernel "encoder-only" cannot do causal attention/);
  });

  it('refuses a layout of the wrong length', () => {
    const e = message(() => resolveModelConfig(registry, { ...base, layout: [null] }));
    expect(e).toBe('layout: has 1 entries but "layers" is 2; give exactly one entry per layer (null keeps the global settings)');
  });

  it('refuses unknown fields with a suggestion, and wrong types with the value', () => {
    expect(message(() => resolveModelConfig(registry, { ...base, dmodel: 3 }))).toMatch(/^dmodel: unknown field \(fields: .*\)\. Did you mean "dModel"\?$/);
    const e = message(() => resolveModelConfig(registry, { ...base, layers: 'four' }));
    expect(e).toMatch(/^layers: .*expected number.*; got "four" \(string\)$/);
    expect(message(() => resolveModelConfig(registry, { ...base, heads: 3 }))).toMatch(/^heads: dModel 16 is not divisible by heads 3/);
    expect(message(() => resolveModelConfig(registry, { ...base, feedforward: { kind: 'mlp', activation: 'tanh' } }))).toMatch(
      /^feedforward\.activation: .*; got "tanh" \(string\)$/,
    );
  });

  it('builds nothing when validation fails (no parameters allocated)', () => {
    const before = tf.memory().numTensors;
    expect(() => buildModel(registry, { ...base, layout: [null, { mixer: { kind: 'nope' } }] })).toThrow(UnknownKindError as never);
    expect(tf.memory().numTensors).toBe(before);
    expect(ConfigError.isInstance(new ConfigError('x', 'y'))).toBe(true);
  });

  it('builds per-layer overrides (hybrid layouts) and drops a layer\'s feed-forward with null', () => {
    const model = buildModel(registry, { ...base, layout: [{ feedforward: null }, { norm: { kind: 'rmsnorm' } }] }) as CausalLM;
    expect(model.blocks.at(0).feedforward).toBeUndefined();
    expect(model.blocks.at(1).norm1.constructor.name).toBe('RMSNorm');
    expect(model.summary()).toMatch(/blocks\.0\s+attention \+ no ffn/);
    model.dispose();
  });

  it('keeps per-model state in separate child containers', () => {
    const a = buildModel(registry, { ...base, seed: 1 }) as CausalLM;
    const b = buildModel(registry, { ...base, seed: 1 }) as CausalLM;
    expect(a.parameters()[0]).not.toBe(b.parameters()[0]);
    expect(Array.from(a.parameters()[0].dataSync())).toEqual(Array.from(b.parameters()[0].dataSync()));
    a.dispose();
    b.dispose();
  });
});

test('VERSION equals package.json', () => {
  expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
});
