import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkPackages, readSlots } from '@weft/check-packages';
import { createPlugin, planPlugin, renderFiles } from '../src/index.js';

const workspaceRoot = resolve(__dirname, '../../..');
const bin = resolve(__dirname, '../bin/create-plugin.js');
const paper = { paperTitle: 'A Test Paper', arxiv: '2104.09864', year: '2021' };
const { names: slotNames } = readSlots(workspaceRoot);

/** A family whose plugins usually fill each slot (core's SLOT_FAMILIES). */
const familyFor: Record<string, string> = {
  embedding: 'tok',
  positional: 'pos',
  attention: 'attn',
  mixer: 'mixer',
  heads: 'heads',
  feedforward: 'ffn',
  norm: 'ffn',
  reducer: 'reduce',
  memory: 'memory',
  kvCache: 'kv',
  trainer: 'train',
  parallel: 'parallel',
};
const sampleFor = (slot: string) => `${familyFor[slot]}-sample-${slot.toLowerCase()}`;

function plan(request: Record<string, string | undefined>) {
  return planPlugin({ ...paper, ...request }, { workspaceRoot });
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'create-plugin-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const options = () => ({
  workspaceRoot,
  dir: join(root, 'plugins'),
  changesetDir: join(root, '.changeset'),
});

describe('planPlugin validates the request', () => {
  it('derives every name from <family>-<technique>', () => {
    const { plan: p, warnings } = plan({ name: '@weft/attn-block-sparse', slot: 'attention' });
    expect(warnings).toEqual([]);
    expect(p).toMatchObject({
      name: 'attn-block-sparse',
      packageName: '@weft/attn-block-sparse',
      family: 'attn',
      technique: 'block-sparse',
      kind: 'block-sparse',
      helper: 'attention',
      paper: { title: 'A Test Paper', arxiv: '2104.09864', year: 2021 },
      sharedPeers: { '@tensorflow/tfjs-core': '4.22.0', tsyringe: expect.any(String) },
    });
  });

  it.each(['Attn_Flash', 'attn', 'attn--flash', 'attn-flash-', '-flash', 'attn-9x', 'attn flash'])(
    'refuses the malformed name %j',
    (name) => {
      expect(errorOf(() => plan({ name, slot: 'attention' }))).toMatch(
        /is malformed: use <family>-<technique>/,
      );
    },
  );

  it('refuses an unknown family with the nearest one', () => {
    expect(errorOf(() => plan({ name: 'atn-flash', slot: 'attention' }))).toBe(
      'Unknown family "atn" in "atn-flash" (families: pos, attn, heads, mixer, ffn, moe, reduce, memory, kv, train, parallel, tok). ' +
        'Did you mean "attn"? The family is the part before the first dash.',
    );
  });

  it('refuses an unknown slot with the nearest one', () => {
    expect(errorOf(() => plan({ name: 'attn-flash', slot: 'atention' }))).toBe(
      `Unknown slot "atention" (slots: ${slotNames.join(', ')}). Did you mean "attention"?`,
    );
    expect(errorOf(() => plan({ name: 'kv-tova', slot: 'kvcache' }))).toMatch(
      /Did you mean "kvCache"\?/,
    );
  });

  it('asks for --slot, suggesting the usual one for the family', () => {
    expect(errorOf(() => plan({ name: 'mixer-mamba', slot: undefined }))).toMatch(
      /^--slot is required \(slots: .*\)\. A mixer-\* plugin usually fills --slot mixer\.$/,
    );
  });

  it('warns (and continues) when the family does not usually fill the slot', () => {
    const { plan: p, warnings } = plan({ name: 'pos-switchhead', slot: 'heads' });
    expect(p.slot).toBe('heads');
    expect(warnings).toEqual([
      expect.stringMatching(/^The heads slot is usually filled by heads-\* or moe-\* plugins, not pos-\*/),
    ]);
  });

  it('checks the paper fields', () => {
    expect(
      errorOf(() => plan({ name: 'pos-rope', slot: 'positional', arxiv: 'roformer' })),
    ).toMatch(/--arxiv "roformer" is not an arXiv id/);
    expect(errorOf(() => plan({ name: 'pos-rope', slot: 'positional', year: '21' }))).toMatch(
      /--year "21" is not a publication year/,
    );
    expect(
      errorOf(() => plan({ name: 'pos-rope', slot: 'positional', paperTitle: 'a\nb' })),
    ).toMatch(/--paper-title must be one non-empty line/);
    expect(
      plan({ name: 'pos-rope', slot: 'positional', arxiv: 'https://arxiv.org/abs/2104.09864v5' })
        .plan.paper.arxiv,
    ).toBe('2104.09864v5');
  });

  it('fills in a placeholder paper, with a warning, when none is given', () => {
    const { plan: p, warnings } = planPlugin(
      { name: 'pos-rope', slot: 'positional' },
      { workspaceRoot },
    );
    expect(p.paper.title).toMatch(/^TODO/);
    expect(warnings).toEqual([expect.stringMatching(/No --paper-title given/)]);
  });
});

describe('createPlugin writes a complete package', () => {
  it.each(slotNames)('for the %s slot, which check-packages accepts', (slot: string) => {
    const name = sampleFor(slot);
    const result = createPlugin({ name, slot, ...paper }, options());
    expect(result.warnings).toEqual([]);
    const technique = result.plan.technique;
    expect(result.files.sort()).toEqual(
      [
        'README.md',
        'jest.config.cjs',
        'package.json',
        'src/index.ts',
        'src/version.ts',
        `src/${technique}.ts`,
        'tsconfig.build.json',
        'tsconfig.json',
        `test/${technique}.test.ts`,
        'test/readme.test.ts',
      ].sort(),
    );
    expect(readFileSync(join(root, '.changeset', `${name}-initial.md`), 'utf8')).toMatch(
      new RegExp(`^---\\n'@weft/${name}': minor\\n---\\n`),
    );
    const index = readFileSync(join(root, 'plugins', name, 'src/index.ts'), 'utf8');
    expect(index).toContain(`import { ${slot}, definePlugin } from '@weft/core';`);
    expect(index).toContain(`${slot}('${technique}', {`);
    expect(
      readFileSync(join(root, 'plugins', name, `test/${technique}.test.ts`), 'utf8'),
    ).toContain(
      "throw new Error('Write the reference, property, gradient and parity tests (see PLUGIN-DONE.md)');",
    );

    const { problems, packages } = checkPackages({ root });
    expect(problems).toEqual([]);
    expect(packages).toEqual([{ dir: `plugins/${name}`, name: `@weft/${name}`, kind: 'plugin' }]);
  });

  // attn-flash adds its own build steps (generated kernels, a jest global setup); the shared
  // parts are what must match. core is the model for the plain jest config.
  it('uses the same configs and package.json shape as plugins/attn-flash and core', () => {
    const flashDir = join(workspaceRoot, 'plugins/attn-flash');
    const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
    const files = renderFiles(plan({ name: 'attn-sample', slot: 'attention' }).plan);
    expect(JSON.parse(files['tsconfig.json'])).toEqual(JSON.parse(read(flashDir, 'tsconfig.json')));
    expect(JSON.parse(files['tsconfig.build.json'])).toEqual(
      JSON.parse(read(flashDir, 'tsconfig.build.json')),
    );
    expect(files['jest.config.cjs'].trim()).toBe(
      read(join(workspaceRoot, 'packages/core'), 'jest.config.cjs').trim(),
    );

    const generated = JSON.parse(files['package.json']);
    const flash = JSON.parse(read(flashDir, 'package.json'));
    for (const field of [
      'version',
      'license',
      'type',
      'sideEffects',
      'main',
      'types',
      'exports',
      'peerDependencies',
    ]) {
      expect([field, generated[field]]).toEqual([field, flash[field]]);
    }
    for (const dep of ['@weft/core', '@tensorflow/tfjs-core', 'tsyringe'])
      expect(generated.devDependencies[dep]).toBe(flash.devDependencies[dep]);
    expect(generated.files).toEqual(['dist', 'README.md', 'CHANGELOG.md']);
    expect(generated.scripts).toEqual({
      build: 'tsc -p tsconfig.build.json',
      test: 'jest',
      typecheck: 'tsc -p tsconfig.json --noEmit',
    });
    expect(Object.keys(generated)).toEqual(Object.keys(flash).filter((k) => k in generated));
  });

  it('refuses when the folder exists, writing nothing', () => {
    mkdirSync(join(root, 'plugins/attn-flash'), { recursive: true });
    expect(
      errorOf(() => createPlugin({ name: 'attn-flash', slot: 'attention', ...paper }, options())),
    ).toMatch(
      /plugins\/attn-flash already exists\. Pick another name, or remove the folder first\. Nothing was written\./,
    );
    expect(readdirSync(join(root, 'plugins/attn-flash'))).toEqual([]);
    expect(existsSync(join(root, '.changeset'))).toBe(false);
  });

  it('refuses when the changeset exists, writing nothing', () => {
    mkdirSync(join(root, '.changeset'));
    writeFileSync(join(root, '.changeset/attn-flash-initial.md'), 'x');
    expect(
      errorOf(() => createPlugin({ name: 'attn-flash', slot: 'attention', ...paper }, options())),
    ).toMatch(/attn-flash-initial\.md already exists/);
    expect(existsSync(join(root, 'plugins/attn-flash'))).toBe(false);
  });
});

/**
 * The generated packages typecheck against @weft/core's sources, and their tests run: the
 * manifest and README-snippet tests pass and the placeholder test fails with its message. The packages are
 * written two levels below the repository root (as plugins are, so their relative
 * tsconfig/jest paths resolve) in a folder outside the workspace globs, with @weft/core
 * linked the way pnpm would link it, and removed afterwards.
 */
describe('generated packages compile and run', () => {
  const scratch = join(workspaceRoot, `.create-plugin-test-${process.pid}`);
  const run = (command: string, args: string[], cwd: string) =>
    spawnSync(process.execPath, [join(workspaceRoot, 'node_modules', command), ...args], {
      cwd,
      encoding: 'utf8',
    });

  beforeAll(() => {
    mkdirSync(join(scratch, 'node_modules/@weft'), { recursive: true });
    symlinkSync('../../../packages/core', join(scratch, 'node_modules/@weft/core'), 'dir');
    for (const slot of slotNames) {
      createPlugin(
        { name: sampleFor(slot), slot, ...paper },
        { workspaceRoot, dir: scratch, changesetDir: join(scratch, '.changeset') },
      );
    }
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('typechecks with the generated tsconfig.json', () => {
    // One tsc program for all of them: each package's own tsconfig.json, widened to every package.
    const first = sampleFor(slotNames[0]);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ extends: `./${first}/tsconfig.json`, include: ['*/src', '*/test'] }),
    );
    const result = run('typescript/bin/tsc', ['-p', 'tsconfig.json', '--noEmit'], scratch);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs the generated tests: manifest and README tests pass, the placeholder fails', () => {
    // The packages' own jest.config.cjs is the shared preset; the preset maps @weft/* names of
    // real workspace folders only, so add the scratch packages to its module map.
    const mapped = Object.fromEntries(
      slotNames.map((slot: string) => [
        `^@weft/${sampleFor(slot)}$`,
        join(scratch, sampleFor(slot), 'src/index.ts'),
      ]),
    );
    writeFileSync(
      join(scratch, 'jest.config.cjs'),
      [
        `const preset = require(${JSON.stringify(join(workspaceRoot, 'jest.preset.cjs'))});`,
        `module.exports = { ...preset, rootDir: __dirname, moduleNameMapper: { ...${JSON.stringify(mapped)}, ...preset.moduleNameMapper } };`,
      ].join('\n'),
    );
    const report = join(scratch, 'jest-report.json');
    run('jest/bin/jest.js', ['--ci', '--json', '--outputFile', report], scratch);
    const results = JSON.parse(readFileSync(report, 'utf8'));
    expect(results.numTotalTestSuites).toBe(2 * slotNames.length);
    for (const suite of results.testResults) {
      const outcomes = suite.assertionResults.map(
        (a: { title: string; status: string; failureMessages: string[] }) => [
          a.title,
          a.status,
          a.failureMessages.join('').split('\n')[0],
        ],
      );
      if (suite.name.endsWith('readme.test.ts')) {
        expect(outcomes).toEqual([['the README usage snippet runs', 'passed', '']]);
      } else {
        expect(outcomes).toEqual([
          [expect.stringMatching(/^installs as the /), 'passed', ''],
          [
            'is tested',
            'failed',
            'Error: Write the reference, property, gradient and parity tests (see PLUGIN-DONE.md)',
          ],
        ]);
      }
    }
  });
});

describe('the create-plugin command', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: root },
    });

  it('writes the package and its changeset, relative to where it was run', () => {
    mkdirSync(join(root, 'plugins'));
    const result = run(
      'pos-sample',
      '--slot',
      'positional',
      '--paper-title',
      'T',
      '--year',
      '2020',
      '--dir',
      'plugins',
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^Created @weft\/pos-sample \(positional kind "sample"\) in plugins\/pos-sample\/:/,
    );
    expect(existsSync(join(root, 'plugins/pos-sample/src/sample.ts'))).toBe(true);
    expect(existsSync(join(root, '.changeset/pos-sample-initial.md'))).toBe(true);
  });

  it('prints warnings, and fails with exit code 1 and the reason', () => {
    const warned = run(
      'kv-sample',
      '--slot',
      'heads',
      '--paper-title',
      'T',
      '--year',
      '2020',
      '--dir',
      'plugins',
    );
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/^warning: The heads slot is usually filled by heads-\* or moe-\* plugins, not kv-\*/);
    const failed = run('attn-flash', '--slot', 'atention', '--dir', 'plugins');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(
      /^create-plugin: Unknown slot "atention" .* Did you mean "attention"\?/,
    );
  });

  it('explains its usage', () => {
    expect(run('--help').stdout).toMatch(
      /^Usage: pnpm create-plugin <family>-<technique> --slot <slot>/,
    );
    const none = run('--slot', 'attention');
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/expected one plugin name, got none/);
  });
});
