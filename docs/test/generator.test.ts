/** Unit tests of the generator's pieces, and of the link checker on a tiny fake site. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { apiEntries } from '../scripts/lib/api-entries.js';
import { finishApiPage, moduleDir } from '../scripts/lib/api-page.js';
import { apiModules, apiSidebars } from '../scripts/lib/api-sidebar.js';
import { benchmarkRows } from '../scripts/lib/benchmarks.js';
import { familyOf } from '../scripts/lib/families.js';
import { dropRelativeLinks, findSection, splitSections } from '../scripts/lib/markdown-sections.js';
import { describeType, optionRows, readmeOptionMeanings, renderOptionsTable } from '../scripts/lib/options-table.js';
import { checkLinks } from './support/link-check.js';

describe('README sections', () => {
  const readme = ['# @weft/x', 'intro', '## What it is', 'An idea.', '```md', '## not a heading', '```', '## Options', '| option | default | meaning |', '|---|---|---|', '| `base` | `10` | the base \\| b |'].join('\n');

  it('splits on ## headings outside code fences', () => {
    const sections = splitSections(readme);
    assert.deepEqual([...sections.keys()], ['What it is', 'Options']);
    assert.match(findSection(sections, /^what it is$/i)!, /## not a heading/);
  });

  it('reads option meanings from the README table, escaped pipes included', () => {
    const meanings = readmeOptionMeanings(findSection(splitSections(readme), /^options$/i));
    assert.equal(meanings.get('base'), 'the base \\| b');
  });

  it('keeps absolute links and drops package-relative ones', () => {
    assert.equal(dropRelativeLinks('[a](https://x.org) [b](configs/README.md) [c](#here)'), '[a](https://x.org) b [c](#here)');
  });
});

describe('options table from JSON schema', () => {
  it('describes types, bounds, enums and slot references', () => {
    assert.equal(describeType({ type: 'number', exclusiveMinimum: 0 }), 'number (> 0)');
    assert.equal(describeType({ type: 'integer', minimum: 2, maximum: Number.MAX_SAFE_INTEGER }), 'integer (≥ 2)');
    assert.equal(describeType({ type: 'string', enum: ['a', 'b'] }), '"a" \\| "b"');
    assert.equal(
      describeType({ anyOf: [{ type: 'string' }, { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } }] }),
      'slot config',
    );
  });

  it('gives defaults, marks required options, prefers schema descriptions', () => {
    const rows = optionRows(
      {
        type: 'object',
        properties: { base: { type: 'number', default: 10000, description: 'from schema' }, kvHeads: { type: 'integer' }, eps: { type: 'number' } },
        required: ['kvHeads'],
      },
      new Map([['base', 'from readme'], ['eps', 'from readme']]),
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.default, r.description]),
      [['base', '10000', 'from schema'], ['kvHeads', 'required', ''], ['eps', '—', 'from readme']],
    );
    assert.match(renderOptionsTable(rows), /^\| `base` \| number \| `10000` \| from schema \|$/m);
  });
});

describe('benchmark rows', () => {
  const md = ['# Benchmarks', '', '| kernel | L | ms |', '| --- | --- | --- |', '| dense | 512 | 10 |', '| flash | 512 | 4 |', '| flash-sparse | 512 | 3 |'].join('\n');

  it('keeps the table header and the rows naming a kind as a whole word', () => {
    assert.equal(benchmarkRows(md, ['flash']), '| kernel | L | ms |\n| --- | --- | --- |\n| flash | 512 | 4 |');
    assert.equal(benchmarkRows(md, ['rope']), undefined);
    assert.equal(benchmarkRows(undefined, ['flash']), undefined);
  });
});

describe('families', () => {
  it('is the folder prefix', () => {
    assert.equal(familyOf('pos-rope-scaling'), 'pos');
    assert.equal(familyOf('standard'), 'standard');
  });
});

describe('link checker', () => {
  it('reports missing files and missing anchors with the page', () => {
    const root = mkdtempSync(join(tmpdir(), 'weft-links-'));
    mkdirSync(join(root, 'guide'));
    writeFileSync(join(root, 'index.html'), '<a href="/guide/a.html#ok">a</a><a href="/guide/a#gone">b</a><a href="./missing.html">c</a><a href="https://x.org">d</a>');
    writeFileSync(join(root, 'guide/a.html'), '<h2 id="ok">ok</h2><img src="../logo.svg">');
    const result = checkLinks(root);
    assert.equal(result.links, 4);
    assert.deepEqual(
      result.broken.map((b) => [b.page, b.link, b.reason]),
      [
        ['/guide/a.html', '../logo.svg', 'no such file'],
        ['/index.html', '/guide/a#gone', 'no id "gone" on the target page'],
        ['/index.html', './missing.html', 'no such file'],
      ].sort((x, y) => x[0].localeCompare(y[0])),
    );
  });
});

describe('API reference pieces', () => {
  it('takes one entry point per exports subpath whose source exists', () => {
    const root = mkdtempSync(join(tmpdir(), 'weft-api-'));
    mkdirSync(join(root, 'a/src/node'), { recursive: true });
    mkdirSync(join(root, 'wip')); // no package.json yet: skipped
    writeFileSync(join(root, 'a/src/index.ts'), 'export const x = 1;');
    writeFileSync(join(root, 'a/src/node/index.ts'), 'export const y = 1;');
    writeFileSync(
      join(root, 'a/package.json'),
      JSON.stringify({
        name: '@weft/a',
        description: 'A.',
        exports: { '.': { source: './src/index.ts' }, './node': { source: './src/node/index.ts' }, './gone': { source: './src/gone.ts' }, './package.json': './package.json' },
      }),
    );
    assert.deepEqual(
      apiEntries(root).map((e) => [e.specifier, e.slug, e.file.slice(root.length), e.description]),
      [
        ['@weft/a', 'a', '/a/src/index.ts', 'A.'],
        ['@weft/a/node', 'a', '/a/src/node/index.ts', 'A.'],
      ],
    );
    assert.equal(moduleDir('@weft/a/node'), 'a/node');
  });

  it('gives a page a title and keeps its body out of Vue, once', () => {
    const page = finishApiPage('# Function: f\\<T\\>()\n\n`{ [k: string]: T }`\n');
    assert.equal(page, ['---', 'title: "Function: f<T>()"', '---', '', '::: v-pre', '# Function: f\\<T\\>()', '', '`{ [k: string]: T }`', ':::', ''].join('\n'));
    assert.equal(finishApiPage(page), page);
  });

  it('builds sidebars from the folders TypeDoc wrote', () => {
    const api = mkdtempSync(join(tmpdir(), 'weft-api-pages-'));
    for (const file of ['index.md', 'nn/index.md', 'nn/functions/buildModel.md', 'nn/classes/Linear.md', 'core/index.md', 'core/node/index.md', 'core/classes/Module.md']) {
      mkdirSync(join(api, file, '..'), { recursive: true });
      writeFileSync(join(api, file), '# x');
    }
    assert.deepEqual(apiModules(api), ['core', 'core/node', 'nn']);
    const sidebars = apiSidebars(api);
    assert.deepEqual(Object.keys(sidebars).sort(), ['/api/', '/api/core/', '/api/core/node/', '/api/nn/']);
    const nn = sidebars['/api/nn/'];
    assert.deepEqual(nn[0], { text: '@weft/nn', link: '/api/nn/' });
    assert.deepEqual(nn.slice(1, 3).map((g) => [g.text, g.items!.map((i) => i.link)]), [
      ['Classes', ['/api/nn/classes/Linear']],
      ['Functions', ['/api/nn/functions/buildModel']],
    ]);
  });
});
