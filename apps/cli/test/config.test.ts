import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry } from '@weft/core';
import { standard } from '@weft/nn';
import { loadRunConfig } from '../src/config/load-run-config.js';
import { parseJson } from '../src/config/read-json-file.js';
import { buildModelFromConfig } from '../src/model/build-model.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('run config loading', () => {
  it('fills defaults and applies flag overrides', () => {
    const path = file('ok.json', JSON.stringify({ model: { vocab: 259, dModel: 16, layers: 1 }, train: { steps: 10 } }));
    const { config } = loadRunConfig(path, { steps: 3, seq: 8, data: 'notes.txt', plugins: ['@weft/pos-rope'] });
    expect(config.train).toMatchObject({ steps: 3, seq: 8, batch: 16, backend: 'wasm' });
    expect(config.data).toEqual({ path: 'notes.txt', validationFraction: 0.01 });
    expect(config.plugins).toEqual(['@weft/pos-rope']);
  });

  it('the default config is valid', () => {
    const { config, source } = loadRunConfig(undefined);
    expect(source).toBe('the default config');
    expect(config.model.vocab).toBe(259);
    expect(config.data.corpus).toBe('brown');
  });

  it('names a missing file', () => {
    expect(() => loadRunConfig(join(dir, 'nope.json'))).toThrow(`The config file ${join(dir, 'nope.json')} does not exist.`);
  });

  it('says the line and column of a JSON syntax error', () => {
    const path = file('bad.json', '{\n  "model": { "vocab": 259 },\n  "train": { "steps": 5, }\n}');
    expect(() => loadRunConfig(path)).toThrow(`${path} is not valid JSON at line 3, column 26: Expected double-quoted property name. (JSON allows no comments or trailing commas.)`);
    expect(() => parseJson('{"a":', 'x.json')).toThrow('x.json is not valid JSON at line 1, column 6 (the file ends too early)');
  });

  it('names the JSON path, the value and the fix of a wrong field', () => {
    const path = file('types.json', JSON.stringify({ model: { vocab: 259 }, train: { steps: 'ten', stpes: 3 } }));
    let message = '';
    try {
      loadRunConfig(path);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${path}: train.steps: Invalid input: expected number, received string; got "ten" (string)`);
    expect(message).toContain(`${path}: train.stpes: unknown field (fields: steps, batch,`);
    expect(message).toContain('Did you mean "steps"?');
  });

  it('wants exactly one data source', () => {
    const path = file('data.json', JSON.stringify({ model: {}, data: { corpus: 'brown', path: 'x.txt' } }));
    expect(() => loadRunConfig(path)).toThrow(`${path}: data: give exactly one of "corpus", "path" or "task"; got corpus and path.`);
  });

  it('points model errors into the file: unknown kind and bad field', () => {
    const registry = createRegistry().use(standard);
    expect(() => buildModelFromConfig(registry, { vocab: 259, dModel: 16, layers: 1, heads: 2, norm: { kind: 'rmsnrom' } }, 'c.json')).toThrow(
      /^c\.json: model\.norm\.kind: No norm kind "rmsnrom" \(installed: .*\)\. Did you mean "rmsnorm"\?$/,
    );
    expect(() => buildModelFromConfig(registry, { vocab: 259, dModel: 16, layers: 1, dmodel: 3 }, 'c.json')).toThrow(
      'c.json: model.dmodel: unknown field',
    );
  });
});
