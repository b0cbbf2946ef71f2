/** Core's positional conformance suite (cpu and wasm), config defaults and config errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_DIMS, createRegistry } from '@weft/core';
import { expectConfigRoundTrip, positionalConformance } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import coca, { VERSION } from '../src/index.js';

const registry = createRegistry().use(coca);
const dims = { heads: 2, headDim: 8, dModel: 16 };
for (const config of [{ kind: 'coca' }, { kind: 'coca', layout: 'interleaved', base: 500 }]) {
  positionalConformance(JSON.stringify(config), () => registry.create('positional', config, { dims: { ...DEFAULT_DIMS, ...dims } }), dims);
}

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('pos-coca config', () => {
  it('fills in the defaults (RoPE base 10000, half-split like the reference code) and round-trips', () => {
    expect(registry.validate('positional', { kind: 'coca' })).toEqual({ kind: 'coca', base: 10000, layout: 'half-split' });
    expectConfigRoundTrip(registry, 'positional', { kind: 'coca', layout: 'interleaved' });
    expect(registry.capabilities('positional', registry.validate('positional', { kind: 'coca' }))).toEqual({ embed: false, rotate: true, bias: false });
  });
  it('base: -5 names the path, the value and the usual choice', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'coca', base: -5 }, 'positional'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional.base');
    expect(e.message).toContain('-5');
    expect(e.message).toContain('10000');
  });
  it('an unknown layout lists both layouts', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'coca', layout: 'neox' }, 'positional'));
    expect(e.message).toContain('positional.layout');
    expect(e.message).toContain('"neox"');
    expect(e.message).toMatch(/half-split.*interleaved/s);
  });
  it('an odd head width is refused when the model is built, with the fix', () => {
    const e = thrown(() => buildModel(createRegistry().use(standard, coca), { vocab: 8, dModel: 15, layers: 1, heads: 5, positional: { kind: 'coca' } }));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional');
    expect(e.message).toContain('head width is 3');
    expect(e.message).toContain('even head width');
  });
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(coca.version).toBe(pkg.version);
  });
});
