/** newApp: copies a template and turns workspace ranges into published ones (fast, always runs). */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listTemplates, newApp, newAppCommand, packageNameFor, publishedRange } from '../src/new-app.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'weft-new-app-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function fakeTemplates(): string {
  const dir = join(tmp, 'templates', 'demo');
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', 'x'), { recursive: true });
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: '@weft/template-demo',
      version: '0.1.0',
      private: true,
      type: 'module',
      dependencies: { '@weft/core': 'workspace:^', '@weft/nn': 'workspace:~', '@weft/tasks': 'workspace:*', zod: '^4.0.0' },
      devDependencies: { '@weft/train': 'workspace:^2.0.0' },
    }),
  );
  return join(tmp, 'templates');
}

test('publishedRange follows pnpm publish, with * widened to ^', () => {
  expect(publishedRange('workspace:^', '0.1.0')).toBe('^0.1.0');
  expect(publishedRange('workspace:~', '0.1.0')).toBe('~0.1.0');
  expect(publishedRange('workspace:*', '0.3.2')).toBe('^0.3.2');
  expect(publishedRange('workspace:^2.0.0', '0.1.0')).toBe('^2.0.0');
});

test('copies the template without build outputs and rewrites workspace ranges', () => {
  const templatesDir = fakeTemplates();
  const versions = { '@weft/core': '0.1.0', '@weft/nn': '0.2.0', '@weft/tasks': '1.0.0', '@weft/train': '0.1.0' };
  const result = newApp('demo', join(tmp, 'My App'), { templatesDir, versions, overrides: { '@weft/nn': 'file:/x/nn.tgz' } });
  const pkg = JSON.parse(readFileSync(join(tmp, 'My App', 'package.json'), 'utf8'));
  expect(pkg.name).toBe('my-app');
  expect(pkg.dependencies).toEqual({ '@weft/core': '^0.1.0', '@weft/nn': 'file:/x/nn.tgz', '@weft/tasks': '^1.0.0', zod: '^4.0.0' });
  expect(pkg.devDependencies).toEqual({ '@weft/train': '^2.0.0' });
  expect(result.rewritten['@weft/core']).toBe('^0.1.0');
  expect(existsSync(join(tmp, 'My App', 'src', 'a.ts'))).toBe(true);
  expect(existsSync(join(tmp, 'My App', 'node_modules'))).toBe(false);
  expect(existsSync(join(tmp, 'My App', 'dist'))).toBe(false);
});

test('errors name the problem and the fix', () => {
  const templatesDir = fakeTemplates();
  expect(() => newApp('nope', join(tmp, 'a'), { templatesDir })).toThrow('Unknown template "nope". Choose one of: demo.');
  mkdirSync(join(tmp, 'full'));
  writeFileSync(join(tmp, 'full', 'x'), '');
  expect(() => newApp('demo', join(tmp, 'full'), { templatesDir, versions: {} })).toThrow(/already exists and is not empty/);
  expect(() => newApp('demo', join(tmp, 'b'), { templatesDir, versions: {} })).toThrow('Template demo depends on @weft/core (workspace:^), which is not a workspace package.');
  expect(() => newAppCommand('node-train', undefined)).toThrow(/^Usage: weft new app <template> <dir>\. Templates: .*node-train/);
});

test('the real templates generate with every @weft range published', () => {
  expect(listTemplates()).toEqual(expect.arrayContaining(['node-train', 'web-app']));
  for (const template of ['node-train', 'web-app']) {
    const dir = join(tmp, template);
    newApp(template, dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const specs = Object.values({ ...pkg.dependencies, ...pkg.devDependencies }) as string[];
    expect(specs.filter((s) => s.startsWith('workspace:'))).toEqual([]);
    expect(pkg.dependencies['@weft/core']).toMatch(/^\^\d+\.\d+\.\d+/);
  }
  expect(packageNameFor('/x/Hello World!')).toBe('hello-world');
});
