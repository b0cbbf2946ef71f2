import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  FAMILIES,
  README_SECTIONS,
  checkPackages,
  findImports,
  formatReport,
  readSlots,
  syncVersionFiles,
} from '../src/index.js';

const repoRoot = resolve(__dirname, '../../..');
const bin = resolve(__dirname, '../bin/check-packages.js');

type Files = Record<string, string | object>;
// Fixture package.json files are loose JSON that the cases poke at freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

function write(root: string, files: Files): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(
      path,
      typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`,
    );
  }
}

const readmeSections = README_SECTIONS.map((s) => `## ${s}\n\nText.\n`).join('\n');

function libraryManifest(name: string, extra: object = {}) {
  return {
    name,
    version: '0.1.0',
    description: 'A test package.',
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md', 'CHANGELOG.md'],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      test: 'jest',
      typecheck: 'tsc -p tsconfig.json --noEmit',
    },
    ...extra,
  };
}

const shared = { '@tensorflow/tfjs-core': '4.22.0', tsyringe: '^4.10.0' };

function libraryFiles(name: string, extra: object = {}): Files {
  return {
    'package.json': libraryManifest(name, extra),
    'tsconfig.json': { extends: '../../tsconfig.base.json', include: ['src', 'test'] },
    'tsconfig.build.json': { extends: '../../tsconfig.base.json', include: ['src'] },
    'jest.config.cjs': "module.exports = { ...require('../../jest.preset.cjs') };\n",
    'README.md': `# ${name}\n\nWhat it does.\n`,
    'src/index.ts': "import { tf } from '@weft/core';\nexport const two = () => tf.scalar(2);\n",
    'test/index.test.ts': "it('works', () => expect(1).toBe(1));\n",
  };
}

function pluginFiles(folder: string): Files {
  const name = `@weft/${folder}`;
  return {
    ...libraryFiles(name, {
      peerDependencies: { '@weft/core': 'workspace:^', ...shared },
      devDependencies: { '@weft/core': 'workspace:*', ...shared },
    }),
    'README.md': `# ${name}\n\nOne line.\n\n${readmeSections}`,
    'test/readme.test.ts': "it('runs the README', () => runReadmeSnippet('README.md'));\n",
    'src/version.ts': "export const VERSION = '0.1.0';\n",
    'src/index.ts': [
      "import type { Tensor } from '@tensorflow/tfjs-core';",
      "import { attention, definePlugin, tf, z } from '@weft/core';",
      "import { VERSION } from './version.js';",
      'export type Out = Tensor;',
      'export default definePlugin({',
      `  name: '${name}',`,
      '  version: VERSION,',
      "  paper: { title: 'A paper', arxiv: '2104.09864', year: 2021 },",
      "  provides: [attention('x', { options: z.object({}), create: () => ({ attend: (q: Tensor) => tf.clone(q) }) as never })],",
      '});',
      '',
    ].join('\n'),
  };
}

/** A small healthy workspace: core, one plugin, one private tool, and changesets for both libraries. */
function goodWorkspace(root: string): void {
  write(join(root, 'packages/core'), libraryFiles('@weft/core', { peerDependencies: shared }));
  write(join(root, 'plugins/attn-good'), pluginFiles('attn-good'));
  write(join(root, 'tools/helper'), {
    'package.json': {
      name: '@weft/helper',
      version: '0.0.0',
      private: true,
      description: 'A tool.',
      license: 'MIT',
      type: 'module',
      scripts: { test: 'jest' },
    },
    'README.md': '# @weft/helper\n',
    'jest.config.cjs': "module.exports = { ...require('../../jest.preset.cjs') };\n",
    'test/a.test.ts': "it('ok', () => undefined);\n",
  });
  write(root, {
    '.changeset/core-initial.md': "---\n'@weft/core': minor\n---\n\nFirst release.\n",
    '.changeset/attn-good-initial.md': '---\n"@weft/attn-good": minor\n---\n\nNew plugin.\n',
    '.changeset/README.md': '# Changesets\n',
  });
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'check-packages-'));
  goodWorkspace(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function problemsOf(dir: string): string[] {
  return checkPackages({ root })
    .problems.filter((p: { dir: string }) => p.dir === dir)
    .map((p: { problem: string }) => p.problem);
}

function editJson(rel: string, edit: (json: Json) => void): void {
  const path = join(root, rel);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json);
  writeFileSync(path, JSON.stringify(json, null, 2));
}

describe('checkPackages on a healthy workspace', () => {
  it('finds no problems and summarises in one line', () => {
    const result = checkPackages({ root });
    expect(result.problems).toEqual([]);
    expect(result.packages.map((p: { dir: string }) => p.dir)).toEqual([
      'packages/core',
      'plugins/attn-good',
      'tools/helper',
    ]);
    expect(formatReport(result)).toBe(
      'check-packages: 3 packages OK (1 library, 1 plugin, 1 private)',
    );
  });

  it('skips folders without package.json and says so', () => {
    mkdirSync(join(root, 'packages/wip/src'), { recursive: true });
    const result = checkPackages({ root });
    expect(result.problems).toEqual([]);
    expect(result.skipped).toEqual(['packages/wip']);
    expect(formatReport(result)).toMatch(
      /skipped 1 folder\(s\) without package.json: packages\/wip/,
    );
  });
});

describe('package.json fields', () => {
  const plugin = 'plugins/attn-good';
  const cases: Array<[string, (j: Json) => void, RegExp]> = [
    ['type', (j) => delete j.type, /"type" is undefined/],
    ['sideEffects', (j) => delete j.sideEffects, /"sideEffects" is missing/],
    ['license', (j) => (j.license = 'ISC'), /"license" is "ISC"/],
    ['description', (j) => (j.description = ' '), /"description" is missing or empty/],
    ['version', (j) => (j.version = '1.0'), /"version" is "1.0", not a semver/],
    [
      'name',
      (j) => (j.name = '@weft/attn-other'),
      /folder attn-good\/ publishes as "@weft\/attn-good"/,
    ],
    ['files', (j) => (j.files = ['src']), /"files" does not include "dist"/],
    ['scripts', (j) => delete j.scripts.typecheck, /"scripts.typecheck" is missing/],
    ['private', (j) => (j.private = true), /"private" is true/],
    ['exports', (j) => delete j.exports, /"exports" is missing/],
    [
      'exports order',
      (j) =>
        (j.exports['.'] = {
          types: './dist/index.d.ts',
          source: './src/index.ts',
          default: './dist/index.js',
        }),
      /lists conditions as types, source, default/,
    ],
    [
      'exports conditions',
      (j) => (j.exports['.'] = { default: './dist/index.js' }),
      /lacks "source", "types"/,
    ],
    [
      'exports source path',
      (j) => (j.exports['.'].source = './src/main.ts'),
      /\.\/src\/main\.ts, which does not exist/,
    ],
    [
      'main',
      (j) => (j.main = './index.js'),
      /"main" is "\.\/index\.js" but exports\["\."\]\.default/,
    ],
    ['peer', (j) => delete j.peerDependencies.tsyringe, /"peerDependencies" lacks tsyringe/],
    ['dev', (j) => delete j.devDependencies['@weft/core'], /"devDependencies" lacks @weft\/core/],
    [
      'regular dependency',
      (j) => (j.dependencies = { '@tensorflow/tfjs-core': '4.22.0' }),
      /@tensorflow\/tfjs-core is a regular dependency/,
    ],
  ];
  it.each(cases)('reports %s', (_label, edit, expected) => {
    editJson(`${plugin}/package.json`, edit);
    const problems = problemsOf(plugin);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('reports invalid JSON without crashing', () => {
    writeFileSync(join(root, plugin, 'package.json'), '{ "name": ');
    expect(problemsOf(plugin)).toEqual([expect.stringMatching(/package.json is not valid JSON/)]);
  });

  it('requires apps, tools and docs to be private, and tools with tests to run them', () => {
    editJson('tools/helper/package.json', (j) => {
      delete j.private;
      delete j.scripts;
    });
    expect(problemsOf('tools/helper')).toEqual([
      expect.stringMatching(/"private" is not true/),
      expect.stringMatching(/no "test" script/),
    ]);
  });

  it('reports two packages with the same name', () => {
    write(join(root, 'tools/copy'), {
      'package.json': {
        name: '@weft/helper',
        version: '0.0.0',
        private: true,
        description: 'x',
        license: 'MIT',
        type: 'module',
      },
      'README.md': '# copy\n',
    });
    expect(problemsOf('tools/copy')).toEqual([
      expect.stringMatching(/"@weft\/helper" is also used by tools\/helper/),
    ]);
  });
});

describe('configs, README, tests, changesets', () => {
  const plugin = 'plugins/attn-good';

  it('reports missing configs and a jest config without the preset', () => {
    rmSync(join(root, plugin, 'tsconfig.build.json'));
    writeFileSync(join(root, plugin, 'jest.config.cjs'), 'module.exports = {};\n');
    expect(problemsOf(plugin)).toEqual([
      'tsconfig.build.json is missing',
      expect.stringMatching(/jest.config.cjs does not use the shared preset/),
    ]);
  });

  it('reports missing README sections and a wrong title', () => {
    const readme = `# wrong\n\n${readmeSections.replace('## Cost', '## Price').replace('## Paper & citation', '## Paper and citation')}`;
    writeFileSync(join(root, plugin, 'README.md'), readme);
    expect(problemsOf(plugin)).toEqual([
      `README.md's title is "wrong"`,
      expect.stringMatching(/lacks the section\(s\) "Cost"$/),
    ]);
  });

  it('ignores headings inside code fences', () => {
    const readme = `# @weft/attn-good\n\n${readmeSections.replace('## Options\n', '```md\n## Options\n```\n')}`;
    writeFileSync(join(root, plugin, 'README.md'), readme);
    expect(problemsOf(plugin)).toEqual([expect.stringMatching(/lacks the section\(s\) "Options"/)]);
  });

  it('requires a test file for a plugin, and one that runs the README snippet', () => {
    rmSync(join(root, plugin, 'test/readme.test.ts'));
    expect(problemsOf(plugin)).toEqual([
      expect.stringMatching(/^no test runs the README's Use snippet/),
    ]);
    rmSync(join(root, plugin, 'test'), { recursive: true });
    expect(problemsOf(plugin)).toEqual(['has no test file (test/*.test.ts)']);
  });

  it('requires a changeset or a CHANGELOG.md', () => {
    rmSync(join(root, '.changeset/attn-good-initial.md'));
    expect(problemsOf(plugin)).toEqual([expect.stringMatching(/no changeset mentions it/)]);
    writeFileSync(join(root, plugin, 'CHANGELOG.md'), '# @weft/attn-good\n');
    expect(problemsOf(plugin)).toEqual([]);
  });

  it('reports a changeset for a package that does not exist', () => {
    write(root, { '.changeset/typo.md': "---\n'@weft/atn-good': patch\n---\n\nFix.\n" });
    expect(problemsOf('.changeset/typo.md')).toEqual([
      'releases "@weft/atn-good", which is not a workspace package',
    ]);
  });
});

describe('plugin sources', () => {
  const plugin = 'plugins/attn-good';
  const index = () => join(root, plugin, 'src/index.ts');
  const source = () => readFileSync(index(), 'utf8');

  it('allows type-only tfjs imports but not runtime ones', () => {
    write(join(root, plugin), {
      'src/ok.ts': [
        "import type { Tensor } from '@tensorflow/tfjs-core';",
        "import { type Rank, type DataType } from '@tensorflow/tfjs-core';",
        "export type { Variable } from '@tensorflow/tfjs-core';",
        "// import * as tf from '@tensorflow/tfjs-core';",
        "/* import '@tensorflow/tfjs-core'; */",
        'export const note = \'never import * as tf from "@tensorflow/tfjs-core" here\';',
        'export type T = [Tensor, Rank, DataType];',
      ].join('\n'),
      'src/kernels/bad.ts':
        "import { type Tensor, matMul } from '@tensorflow/tfjs-core';\nexport { matMul };\nexport type T = Tensor;\n",
      'src/lazy.ts': "export const load = () => import('@tensorflow/tfjs-core/dist/base');\n",
      'src/schema.ts': "import { z } from 'zod';\nexport const s = z.object({});\n",
    });
    expect(problemsOf(plugin)).toEqual([
      expect.stringMatching(/^src\/kernels\/bad\.ts:1 imports @tensorflow\/tfjs-core at runtime/),
      expect.stringMatching(/^src\/lazy\.ts:1 imports @tensorflow\/tfjs-core at runtime/),
      expect.stringMatching(/^src\/schema\.ts:1 imports zod directly/),
    ]);
  });

  it('applies the tfjs rule to libraries other than core', () => {
    write(join(root, 'packages/core'), {
      'src/tfjs.ts': "import * as tf from '@tensorflow/tfjs-core';\nexport { tf };\n",
    });
    expect(problemsOf('packages/core')).toEqual([]);
  });

  it('requires definePlugin with a paper', () => {
    writeFileSync(index(), source().replace(/ {2}paper: .*\n/, ''));
    expect(problemsOf(plugin)).toEqual(['the definePlugin manifest names no paper']);
    writeFileSync(index(), 'export const x = 1;\n');
    expect(problemsOf(plugin)).toEqual(['src/index.ts does not call definePlugin(']);
  });

  it('checks the manifest name and version against package.json', () => {
    writeFileSync(
      index(),
      source()
        .replace("name: '@weft/attn-good'", "name: '@weft/attn-bad'")
        .replace('version: VERSION', "version: '0.2.0'"),
    );
    expect(problemsOf(plugin)).toEqual([
      `definePlugin's name is "@weft/attn-bad" but package.json's is "@weft/attn-good"`,
      `definePlugin's version is "0.2.0" but package.json's is "0.1.0"`,
    ]);
  });

  it('reports a stale src/version.ts, and syncVersionFiles fixes it', () => {
    editJson(`${plugin}/package.json`, (j) => (j.version = '0.2.0'));
    expect(problemsOf(plugin)).toEqual([
      expect.stringMatching(
        /src\/version\.ts says VERSION = '0\.1\.0' but package.json's version is "0\.2\.0"/,
      ),
    ]);
    const changed = syncVersionFiles({
      root,
      write: (file: string, text: string) => writeFileSync(file, text),
    });
    expect(changed).toEqual(['plugins/attn-good/src/version.ts']);
    expect(readFileSync(join(root, plugin, 'src/version.ts'), 'utf8')).toBe(
      "export const VERSION = '0.2.0';\n",
    );
    expect(problemsOf(plugin)).toEqual([]);
  });

  it('requires a known family in the folder name', () => {
    write(join(root, 'plugins/atn-typo'), pluginFiles('atn-typo'));
    write(root, { '.changeset/atn-typo.md': "---\n'@weft/atn-typo': minor\n---\n\nx\n" });
    expect(problemsOf('plugins/atn-typo')).toEqual([
      expect.stringMatching(/"atn" in atn-typo is not a plugin family/),
    ]);
  });
});

describe('findImports', () => {
  it('classifies import forms', () => {
    const found = findImports(
      [
        "import a from 'a';",
        "import type { B } from 'b';",
        "import { type C1, type C2 } from 'c';",
        "import { type D1, d2 } from 'd';",
        "import 'e';",
        "export * from 'f';",
        "export type { G } from 'g';",
        "const h = await import('h');",
        "const i = require('i');",
        "import {\n  j1,\n  j2,\n} from 'j';",
        "// import k from 'k';",
      ].join('\n'),
    );
    expect(
      found.map(
        (i: { specifier: string; typeOnly: boolean }) =>
          `${i.specifier}:${i.typeOnly ? 'type' : 'runtime'}`,
      ),
    ).toEqual([
      'a:runtime',
      'b:type',
      'c:type',
      'd:runtime',
      'e:runtime',
      'f:runtime',
      'g:type',
      'h:runtime',
      'i:runtime',
      'j:runtime',
    ]);
  });
});

describe('conventions read from this repository', () => {
  it("reads core's slots, their helpers and families", () => {
    const { names, helpers, families } = readSlots(repoRoot);
    expect(names).toEqual(
      expect.arrayContaining(['positional', 'attention', 'mixer', 'kvCache', 'parallel']),
    );
    for (const slot of names) expect(helpers[slot]).toBe(slot);
    for (const list of Object.values(families) as string[][]) {
      for (const family of list) expect(Object.keys(FAMILIES)).toContain(family);
    }
  });

  it('explains when core cannot be found', () => {
    expect(() => readSlots(root)).toThrow(/packages\/core\/src\/slots\.ts does not exist/);
  });
});

describe('the check-packages command', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  it('exits 0 with a one-line summary when all is well', () => {
    const result = run('--root', root);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(
      'check-packages: 3 packages OK (1 library, 1 plugin, 1 private)',
    );
  });

  it('exits 1 with the package, the problem and the fix', () => {
    editJson('plugins/attn-good/package.json', (j) => delete j.sideEffects);
    const result = run('--root', root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('plugins/attn-good (@weft/attn-good)');
    expect(result.stderr).toContain('✗ "sideEffects" is missing');
    expect(result.stderr).toContain('fix: add "sideEffects": false');
  });

  it('rejects unknown flags', () => {
    const result = run('--frobnicate');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--frobnicate'[\s\S]*Usage: pnpm check-packages/);
  });
});
