/** Core's positional conformance suite per kind (cpu and wasm), defaults, capabilities and config errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_DIMS, createRegistry } from '@weft/core';
import { positionalConformance } from '@weft/core/testing';
import alibi from '@weft/pos-alibi';
import rope from '@weft/pos-rope';
import temperature, { VERSION } from '../src/index.js';

const registry = createRegistry().use(rope, alibi, temperature);
const dims = { heads: 2, headDim: 8, dModel: 16 };
for (const config of [
  { kind: 'logn' },
  { kind: 'logn', inner: { kind: 'alibi' } },
  { kind: 'align', temperature: 0.7, inner: { kind: 'rope' } },
  { kind: 'tempscale', temperature: 0.9 },
]) {
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

describe('pos-temperature config', () => {
  it('defaults, nested inner validation and capabilities (inner hooks + logitScale)', () => {
    expect(registry.validate('positional', { kind: 'logn' })).toEqual({ kind: 'logn', base: Math.E });
    expect(registry.validate('positional', { kind: 'align', inner: 'rope' })).toEqual({ kind: 'align', temperature: 1, inner: { kind: 'rope', base: 10000, fraction: 1, layout: 'interleaved' } });
    const caps = (c: object) => registry.capabilities('positional', registry.validate('positional', c));
    expect(caps({ kind: 'logn', inner: 'alibi' })).toEqual({ embed: false, rotate: true, bias: true, perLayer: false, logitScale: true });
    expect(caps({ kind: 'tempscale', temperature: 0.9 })).toEqual({ embed: false, rotate: false, bias: false, logitScale: true });
  });
  it('the manifest cites one paper per kind', () => {
    expect(temperature.papers!.map((p) => p.arxiv)).toEqual(['2202.12172', '2311.00684', '2410.24200']);
    for (const p of temperature.provides) expect(p.description).toMatch(/arXiv \d{4}\.\d{5}/);
  });
  it('tempscale without a temperature, or with τ > 1, says what to set', () => {
    let e = thrown(() => registry.validate('positional', { kind: 'tempscale' }, 'positional'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional.temperature');
    expect(e.message).toContain('0.9');
    e = thrown(() => registry.validate('positional', { kind: 'tempscale', temperature: 1.5 }, 'positional'));
    expect(e.message).toMatch(/positional\.temperature.*≤ 1.*"align".*1\.5/s);
  });
  it('logn base ≤ 1 and a fractional trainLength are refused with the fix', () => {
    let e = thrown(() => registry.validate('positional', { kind: 'logn', base: 1 }, 'positional'));
    expect(e.message).toMatch(/positional\.base.*> 1.*natural log/s);
    e = thrown(() => registry.validate('positional', { kind: 'logn', trainLength: 512.5 }, 'positional'));
    expect(e.message).toMatch(/positional\.trainLength.*whole number.*512\.5/s);
  });
  it('an unknown inner kind names the nested path', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'align', inner: { kind: 'ropee' } }, 'positional'));
    expect(e.message).toContain('positional.inner');
    expect(e.message).toContain('rope');
  });
  it('wrapping CoCA is refused by the config check, naming the nested path', () => {
    // the check looks at the inner kind only, so CoCA need not be installed here
    const e = thrown(() => registry.check('positional', { kind: 'logn', base: Math.E, inner: { kind: 'coca' } }, { path: 'positional', causal: true }));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional.inner');
    expect(e.message).toContain('{ "kind": "rope" }');
  });
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(temperature.version).toBe(pkg.version);
  });
});
