/** Bad options fail at config time with the field, the value and the fix. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, createRegistry } from '@weft/core';
import { describeWithBackends } from '@weft/core/testing';
import { buildModel, standard } from '@weft/nn';
import rope, { VERSION } from '../src/index.js';

const registry = createRegistry().use(rope);
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describeWithBackends('pos-rope config errors', () => {
  it('base: -1 names the path, the value and a valid choice', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'rope', base: -1 }, 'positional'));
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('positional.base');
    expect(e.message).toContain('-1');
    expect(e.message).toContain('10000');
  });
  it('fraction outside [0, 1]', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'rope', fraction: 1.5 }, 'positional'));
    expect(e.message).toMatch(/positional\.fraction.*\[0, 1\].*1\.5/s);
  });
  it('unknown layout lists the two layouts', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'rope', layout: 'neox' }, 'positional'));
    expect(e.message).toContain('positional.layout');
    expect(e.message).toContain('"neox"');
    expect(e.message).toContain('half-split');
  });
  it('a fraction that does not give an even number of dims is refused when the model is built', () => {
    const e = thrown(() =>
      buildModel(createRegistry().use(standard, rope), { vocab: 8, dModel: 16, layers: 1, heads: 2, positional: { kind: 'rope', fraction: 0.3 } }),
    );
    expect(ConfigError.isInstance(e)).toBe(true);
    expect(e.message).toContain('fraction');
    expect(e.message).toContain('0.3');
    expect(e.message).toMatch(/0\.25 \(2 dims\) or 0\.5 \(4 dims\)/);
  });
  it('unknown option suggests the nearest name', () => {
    const e = thrown(() => registry.validate('positional', { kind: 'rope', bases: 10 }, 'positional'));
    expect(e.message).toContain('base');
  });
  it('VERSION equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(rope.version).toBe(pkg.version);
  });
}, ['cpu']);
